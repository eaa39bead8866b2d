import { summarizeModel } from '../../engine/onnx/summary';
import type { JobHandler } from './handler';

export const modelSummaryJob: JobHandler<'model.summary'> = async (params, ctx) => {
  ctx.progress('read model', 0, 1);
  const summary = summarizeModel(params.path);
  ctx.progress('read model', 1, 1);
  return summary;
};
