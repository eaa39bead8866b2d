// Automatic tuning of a project in one worker, so calibration statistics and
// the float model's result stay in memory across trials. Each trial is sent to
// the backend as it ends (it records the trial as a config and a run and moves
// the trial's files into the run's folder: the tuner never reads them again).

import { join } from 'node:path';
import { tune } from '../../engine/pipeline/tuner';
import type { TuneEvent } from '../../shared/tune-types';
import type { JobHandler } from './handler';
import { evaluationSetupOf } from './project-trial';

export const tuneRunJob: JobHandler<'tune.run'> = (p, ctx) => {
  const send = (e: TuneEvent) => ctx.emit(e);
  return tune({
    modelPath: p.modelPath,
    startConfig: p.startConfigPath,
    calibration: { data: p.calibrationData },
    calibrationBatchSize: p.calibrationBatchSize,
    evaluation: evaluationSetupOf(p),
    budget: p.budget,
    previous: p.previous,
    trialDir: (i) => join(p.workDir, 'trials', String(i).padStart(3, '0')),
    scratchDir: join(p.workDir, 'scratch'),
    signal: ctx.signal,
    onProgress: (stage, done, total, message, pass) => ctx.progress(stage, done, total, message, pass),
    onTrial: (trial, result, dir) => send({ type: 'tune.trial', trial, dir, result: result?.run }),
    onSummary: (summary) => send({ type: 'tune.summary', summary }),
  });
};
