// The user's data bound to a model: one call from a path (a .npy, an image
// folder, a manifest…) and an optional labels path to a dataset that feeds
// the model's inputs. Used by every job that runs data through a model.

import { QtuneError } from '../../shared/errors';
import { inputSpecs, type ModelInputSpec, type OnnxModel, type ort } from '../onnx';
import { openDataset, type Dataset } from './dataset';
import { datasetFromShortForm, type ShortForm } from './manifest';

/** Data in short form (the model input it feeds is the model's first). */
export type DataForm = Omit<ShortForm, 'inputName'> & { skipBadImages?: boolean };

/** Open `form` for a model (loaded, a session over it, or its input specs); a model without inputs is refused by name. */
export async function openDataFor(model: OnnxModel | ort.InferenceSession | readonly ModelInputSpec[], form: DataForm, file?: string): Promise<Dataset> {
  const inputs = Array.isArray(model) ? model : inputSpecs(model as OnnxModel | ort.InferenceSession);
  const path = file ?? ('graph' in model ? model.path : undefined);
  if (inputs.length === 0) throw new QtuneError('model_invalid', `${path ?? 'the model'} has no inputs to feed`, { file: path });
  const { skipBadImages, ...short } = form;
  // A short form names one input; multi-input models need a manifest (.json), which names them all.
  const desc = await datasetFromShortForm({ ...short, inputName: inputs[0].name });
  return openDataset(desc, { inputs, skipBadImages });
}
