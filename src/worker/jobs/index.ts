// The job registry: one handler per job kind. A new kind is one entry here and
// one file beside this one.

import type { JobKind, JobParams, JobResult } from '../../shared/jobs';
import type { JobContext } from '../job-context';
import { modelIoJob } from './model-io';
import { modelSummaryJob } from './model-summary';
import { modelGraphJob } from './model-graph';
import { dataPreviewJob } from './data-preview';
import { configCreateJob } from './config-create';
import { runQuantizeJob } from './run-quantize';
import { runAnalyzeJob } from './run-analyze';

export type JobHandler<K extends JobKind> = (params: JobParams<K>, ctx: JobContext) => Promise<JobResult<K>>;

export const JOB_HANDLERS: { [K in JobKind]: JobHandler<K> } = {
  'model.io': modelIoJob,
  'model.summary': modelSummaryJob,
  'model.graph': modelGraphJob,
  'data.preview': dataPreviewJob,
  'config.create': configCreateJob,
  'run.quantize': runQuantizeJob,
  'run.analyze': runAnalyzeJob,
};
