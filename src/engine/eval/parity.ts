// Simulation vs runtime: the same int8 model run with graph optimisations off
// (every QuantizeLinear/DequantizeLinear executed as written: what qtune's
// analysis reasons about) and on (the runtime fuses them into integer kernels:
// what a deployment gets). Integer kernels round differently in places (and on
// some CPUs saturate), so the two can disagree; this measures by how much.
import { PARITY_MAX_FLIP_PERCENT, PARITY_MAX_METRIC_DIFF, type RuntimeParity } from '../../shared/deploy-types';
import type { Dataset } from '../data/dataset';
import { QtuneError, throwIfAborted } from '../../shared/errors';
import { createSession, SlicedRunner, toOrtFeeds } from '../onnx';
import { rows } from './evaluate';
import { top1 } from './metrics';

export interface ParityOptions {
  modelPath: string;
  dataset: Dataset;
  batchSize: number;
  /** which output is compared; default the first */
  output?: string;
  limit?: number;
  maxMetricDiff?: number;
  maxFlipPercent?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/** Counts that make up a parity result; kept apart so tests can check the verdict on known numbers. */
export interface ParityCounts {
  samples: number;
  agree: number;
  simCorrect: number;
  realCorrect: number;
  labelled: boolean;
  maxAbsDiff: number;
}

export function parityVerdict(c: ParityCounts, output: string, maxMetricDiff = PARITY_MAX_METRIC_DIFF, maxFlipPercent = PARITY_MAX_FLIP_PERCENT): RuntimeParity {
  const n = Math.max(1, c.samples);
  const sim = c.labelled ? (100 * c.simCorrect) / n : null;
  const real = c.labelled ? (100 * c.realCorrect) / n : null;
  const agreement = (100 * c.agree) / n;
  const metricOk = sim === null || real === null || Math.abs(sim - real) <= maxMetricDiff + 1e-9;
  const flipsOk = 100 - agreement <= maxFlipPercent + 1e-9;
  const metricPart = sim !== null && real !== null ? `simulated ${sim.toFixed(2)}% vs runtime ${real.toFixed(2)}% top-1; ` : '';
  const summary = `${metricPart}${agreement.toFixed(1)}% of ${c.samples} samples agree on top-1; largest output difference ${c.maxAbsDiff.toPrecision(3)}`;
  return {
    samples: c.samples, simulatedMetric: sim, runtimeMetric: real, top1Agreement: agreement, maxAbsDiff: c.maxAbsDiff, output,
    maxMetricDiff, maxFlipPercent, ok: metricOk && flipsOk, summary,
  };
}

/** Runs the int8 model both ways over the dataset: top-1 of the chosen output sample by sample, the largest difference over every output. */
export async function runtimeParity(opts: ParityOptions): Promise<RuntimeParity> {
  const sim = await createSession(opts.modelPath, { forComparison: true });
  const real = await createSession(opts.modelPath, { forComparison: false }).catch(async (e) => {
    await sim.release();
    throw e;
  });
  try {
    const output = opts.output ?? sim.outputNames[0];
    if (!sim.outputNames.includes(output)) {
      throw new QtuneError('eval_invalid', `the model has no output '${output}' (it has: ${sim.outputNames.join(', ')})`, { path: 'output' });
    }
    const total = Math.min(opts.dataset.count, opts.limit ?? Infinity);
    const c: ParityCounts = { samples: 0, agree: 0, simCorrect: 0, realCorrect: 0, labelled: !!opts.dataset.labels, maxAbsDiff: 0 };
    // in slices of a few samples, so a Cancel is heard within an inference batch
    const simRunner = new SlicedRunner(sim, { signal: opts.signal, model: opts.modelPath });
    const realRunner = new SlicedRunner(real, { signal: opts.signal, model: opts.modelPath });
    opts.onProgress?.(0, total);
    for await (const batch of opts.dataset.batches({ batchSize: opts.batchSize, limit: opts.limit })) {
      throwIfAborted(opts.signal);
      const feeds = toOrtFeeds(batch.feeds);
      const n = batch.indices.length + batch.padded;
      const simOuts = await simRunner.run(feeds, n, batch.unbatched);
      const realOuts = await realRunner.run(feeds, n, batch.unbatched);
      // the largest difference over every output; top-1 of the chosen one
      for (const name of sim.outputNames) {
        const x = rows(simOuts[name], batch, name).data;
        const y = rows(realOuts[name], batch, name).data;
        for (let i = 0; i < x.length; i++) {
          const d = Math.abs(x[i] - y[i]);
          // NaN on one side only is the largest disagreement there is
          if (d > c.maxAbsDiff || (Number.isNaN(d) && !(Number.isNaN(x[i]) && Number.isNaN(y[i])))) c.maxAbsDiff = Number.isNaN(d) ? Infinity : d;
        }
      }
      const a = rows(simOuts[output], batch, output);
      const b = rows(realOuts[output], batch, output);
      for (let r = 0; r < batch.indices.length; r++) {
        const pa = a.per === 1 ? Math.round(a.data[r]) : top1(a.data, r * a.per, a.per).prediction;
        const pb = b.per === 1 ? Math.round(b.data[r]) : top1(b.data, r * b.per, b.per).prediction;
        if (pa === pb) c.agree++;
        if (batch.labels) {
          if (pa === batch.labels[r]) c.simCorrect++;
          if (pb === batch.labels[r]) c.realCorrect++;
        }
        c.samples++;
      }
      opts.onProgress?.(c.samples, total);
    }
    return parityVerdict(c, output, opts.maxMetricDiff, opts.maxFlipPercent);
  } finally {
    await sim.release();
    await real.release();
  }
}
