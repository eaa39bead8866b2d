// Inputs and outputs of a model as ONNX Runtime sees them, read by loading the
// model into a session: this is also the check that the runtime accepts it.

import { stat } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { QtuneError } from '../../shared/errors';
import type { ModelIo, TensorIo } from '../../shared/model-io';

function describe(meta: ort.InferenceSession.ValueMetadata): TensorIo {
  if (!meta.isTensor) return { name: meta.name, type: 'non-tensor', shape: null };
  return {
    name: meta.name,
    type: meta.type,
    shape: meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : typeof d === 'string' && d ? d : '?')),
  };
}

/** One line, without the runtime's stack of C++ frames. */
function firstLine(message: string): string {
  return message.split('\n')[0].replace(/\s+/g, ' ').trim();
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
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path, { graphOptimizationLevel: 'disabled' });
  } catch (err) {
    const reason = firstLine(err instanceof Error ? err.message : String(err));
    throw new QtuneError('model_invalid', `${path} is not a valid ONNX model: ${reason}`, { file: path });
  }
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
