import { openDataFor } from '../../engine/data/for-model';
import { previewSamples } from '../../engine/data/sample-preview';
import { createSession } from '../../engine/onnx';
import type { JobHandler } from './handler';

export const dataPreviewJob: JobHandler<'data.preview'> = async (params, ctx) => {
  ctx.progress('decode samples', 0, params.indices.length);
  const session = await createSession(params.modelPath, { forComparison: false });
  try {
    const dataset = await openDataFor(session, { data: params.data, labels: params.labels });
    const previews = await previewSamples(dataset, params.indices);
    ctx.progress('decode samples', params.indices.length, params.indices.length);
    return previews;
  } finally {
    await session.release();
  }
};
