// The user's data bound to a model: one call from a path (a .npy, an image
// folder, a manifest…) and an optional labels path to a dataset that feeds
// the model's inputs. Used by every job that runs data through a model.

import type * as ort from 'onnxruntime-node';
import type { ImagePreprocess } from '../../shared/dataset-schema';
import { QtuneError } from '../../shared/errors';
import { openDataset, type Dataset } from './dataset';
import { datasetFromShortForm } from './manifest';
import { modelInputSpecs } from '../eval/evaluate';

export async function openDataFor(
  session: ort.InferenceSession,
  data: string,
  labels?: string,
  opts: { preprocess?: ImagePreprocess; skipBadImages?: boolean } = {},
): Promise<Dataset> {
  const inputs = modelInputSpecs(session);
  if (inputs.length === 0) throw new QtuneError('model_invalid', 'the model has no inputs to feed');
  // A short form names one input; multi-input models need a manifest (.json), which names them all.
  const desc = await datasetFromShortForm({ data, labels, inputName: inputs[0].name, preprocess: opts.preprocess });
  return openDataset(desc, { inputs, skipBadImages: opts.skipBadImages });
}
