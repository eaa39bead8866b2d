// A project's evaluation settings as the engine's pipeline takes them.

import type { EvaluationSetup } from '../../engine/pipeline/trial';
import type { ProjectTrialParams } from '../../shared/jobs';

export function evaluationSetupOf(p: ProjectTrialParams): EvaluationSetup {
  return {
    data: p.evaluationData,
    labels: p.labels,
    metric: p.metric,
    trusted: p.trustedEvaluator,
    batchSize: p.evaluationBatchSize,
    target: p.target,
  };
}
