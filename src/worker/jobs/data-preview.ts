import { createSession } from '../../engine/eval/evaluate';
import { openDataFor } from '../../engine/data/for-model';
import { previewSamples } from '../../engine/data/sample-preview';
import type { JobHandler } from './handler';

export const dataPreviewJob: JobHandler<'data.preview'> = async (params, ctx) => {
  ctx.progress('decode samples', 0, params.indices.length);
  const session = await createSession(params.modelPath);
  try {
    const dataset = await openDataFor(session, params.data, params.labels);
    const previews = await previewSamples(dataset, params.indices);
    ctx.progress('decode samples', params.indices.length, params.indices.length);
    return previews;
  } finally {
    await session.release();
  }
};
