// The deployment checks every quantize-and-evaluate run ends with: does the
// runtime's integer model give the simulated answers, and how fast is it next
// to the float model. One call, so the run pipeline stays a list of steps.
import type { LatencyComparison, LayerTimes, RuntimeParity } from '../../shared/deploy-types';
import { isCancelled, QtuneError } from '../../shared/errors';
import type { Dataset } from '../data/dataset';
import { runtimeParity } from '../eval/parity';
import type { ort } from '../onnx';
import { firstFeeds } from './feeds';
import { compareLatency } from './latency';
import { profileLayers } from './profile';

export interface DeployChecks {
  parity?: RuntimeParity;
  latency?: LatencyComparison;
  layerTimes?: LayerTimes;
  /** why a check could not run (the run itself still counts) */
  notes: string[];
}

export interface DeployCheckOptions {
  quantModel: string;
  floatModel: string;
  dataset: Dataset;
  evaluationBatchSize: number;
  /** timed runs per model and batch size (default 3: a run should stay quick; `qtune benchmark` does more) */
  repetitions?: number;
  signal?: AbortSignal;
  onProgress?: (stage: string, done: number, total: number) => void;
}

/** Latency feeds: the first samples of the evaluation data, so the timing sees real activations. */
async function firstBatch(dataset: Dataset, bs: number): Promise<Record<string, ort.Tensor>> {
  const feeds = await firstFeeds(dataset, bs);
  if (!feeds) throw new QtuneError('benchmark_invalid', 'the evaluation data has no samples to time the model with');
  return feeds;
}

export async function runDeployChecks(opts: DeployCheckOptions): Promise<DeployChecks> {
  const notes: string[] = [];
  const out: DeployChecks = { notes };
  try {
    out.parity = await runtimeParity({
      modelPath: opts.quantModel, dataset: opts.dataset, batchSize: opts.evaluationBatchSize, signal: opts.signal,
      onProgress: (d, t) => opts.onProgress?.('runtime parity', d, t),
    });
  } catch (e) {
    if (isCancelled(e)) throw e;
    notes.push(`runtime parity not checked: ${(e as Error).message}`);
  }
  try {
    const sizes = [...new Set([1, Math.min(opts.evaluationBatchSize, opts.dataset.count)])];
    out.latency = await compareLatency(opts.quantModel, opts.floatModel, {
      batchSizes: sizes, warmup: 1, repetitions: opts.repetitions ?? 3, signal: opts.signal,
      feedsFor: (bs) => firstBatch(opts.dataset, bs),
      onProgress: (d, t) => opts.onProgress?.('latency', d, t),
    });
  } catch (e) {
    if (isCancelled(e)) throw e;
    notes.push(`latency not measured: ${(e as Error).message}`);
  }
  try {
    const bs = Math.min(opts.evaluationBatchSize, opts.dataset.count);
    const feeds = await firstBatch(opts.dataset, bs);
    const times = async (path: string) => Object.fromEntries((await profileLayers(path, feeds, 3)).layers.filter((l) => l.layer).map((l) => [l.name, l.ms]));
    opts.onProgress?.('layer times', 0, 2);
    const float = await times(opts.floatModel);
    opts.onProgress?.('layer times', 1, 2);
    const int8 = await times(opts.quantModel);
    opts.onProgress?.('layer times', 2, 2);
    out.layerTimes = { batchSize: bs, float, int8 };
  } catch (e) {
    if (isCancelled(e)) throw e;
    notes.push(`layer times not measured: ${(e as Error).message}`);
  }
  return out;
}
