import { loadModel } from '../../engine/onnx/io';
import { toDisplayGraph } from '../../engine/onnx/display';
import type { JobHandler } from './index';

export const modelGraphJob: JobHandler<'model.graph'> = async (params, ctx) => {
  ctx.progress('read model', 0, 1);
  const graph = toDisplayGraph(loadModel(params.path));
  ctx.progress('read model', 1, 1);
  return graph;
};
