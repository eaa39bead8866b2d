// Inputs and outputs of a model as ONNX Runtime sees them, read by loading the
// model into a session: this is also the check that the runtime accepts it.

import { stat } from 'node:fs/promises';
import type * as ort from 'onnxruntime-node';
import { QtuneError } from '../../shared/errors';
import type { ModelIo, TensorIo } from '../../shared/model-io';
import { createSession } from './ort';

function describe(meta: ort.InferenceSession.ValueMetadata): TensorIo {
  if (!meta.isTensor) return { name: meta.name, type: 'non-tensor', shape: null };
  return {
    name: meta.name,
    type: meta.type,
    shape: meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : typeof d === 'string' && d ? d : '?')),
  };
}

export async function readModelIo(path: string): Promise<ModelIo> {
  let sizeBytes: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new QtuneError('not_a_file', `${path} is not a file`, { file: path });
    sizeBytes = info.size;
  } catch (err) {
    if (err instanceof QtuneError) throw err;
    throw new QtuneError('file_not_found', `${path}: no such file`, { file: path });
  }
  if (sizeBytes === 0) throw new QtuneError('model_invalid', `${path} is empty (0 bytes), not an ONNX model`, { file: path });
  const session = await createSession(path, { forComparison: true });
  try {
    return {
      path,
      sizeBytes,
      inputs: session.inputMetadata.map(describe),
      outputs: session.outputMetadata.map(describe),
    };
  } finally {
    await session.release();
  }
}
