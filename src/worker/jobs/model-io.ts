import { readModelIo } from '../../engine/onnx/model-io';
import type { JobHandler } from './handler';

export const modelIoJob: JobHandler<'model.io'> = async (params, ctx) => {
  ctx.progress('load model', 0, 1);
  const io = await readModelIo(params.path);
  ctx.progress('load model', 1, 1);
  return io;
};
