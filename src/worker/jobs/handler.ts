// The shape of a job handler, apart from the registry so handlers do not import the registry that imports them.

import type { JobKind, JobParams, JobResult } from '../../shared/jobs';
import type { JobContext } from '../job-context';

export type JobHandler<K extends JobKind> = (params: JobParams<K>, ctx: JobContext) => Promise<JobResult<K>>;
