// The job registry: one handler per job kind. A new kind is one entry here and
// one file beside this one.

import type { JobKind } from '../../shared/jobs';
import type { JobHandler } from './handler';
import { modelIoJob } from './model-io';
import { modelSummaryJob } from './model-summary';
import { modelGraphJob } from './model-graph';
import { dataPreviewJob } from './data-preview';
import { configCreateJob } from './config-create';
import { runQuantizeJob } from './run-quantize';
import { runAnalyzeJob } from './run-analyze';
import { tuneRunJob } from './tune-run';

export type { JobHandler } from './handler';

export const JOB_HANDLERS: { [K in JobKind]: JobHandler<K> } = {
  'model.io': modelIoJob,
  'model.summary': modelSummaryJob,
  'model.graph': modelGraphJob,
  'data.preview': dataPreviewJob,
  'config.create': configCreateJob,
  'run.quantize': runQuantizeJob,
  'run.analyze': runAnalyzeJob,
  'tune.run': tuneRunJob,
};
