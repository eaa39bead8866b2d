// Cheap measurements that tell the tuner where an evaluation is worth
// spending. Both quantize a config into a scratch folder (calibration comes
// from the cache) and run a few calibration samples, never the evaluation set:
// - isolated: every quantized layer fed the float input (the analyzer's
//   isolated pass), so one inference per batch scores each layer's own error
//   (0.5 + 0.5·cos of its output against the float layer): the ranking;
// - output: the whole quantized model against the float model, as the mean
//   cosine of every model output over the probe samples (averaged over the
//   outputs): how much a config change helps in the context of the others,
//   to screen parameter variants.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { QuantConfig } from '../../shared/config-types';
import { throwIfAborted } from '../../shared/errors';
import { isolatedSensitivity } from '../analyze/isolated';
import { readQdqLayers } from '../analyze/qdq-layers';
import { collectBatches, type SampleBatch } from '../analyze/samples';
import type { Dataset } from '../data/dataset';
import { asFloat32 } from '../eval/evaluate';
import { cosine, fidelityScore } from '../eval/metrics';
import { createSession, loadModel, type ort } from '../onnx';
import { quantizeModel, type QuantizeOptions } from '../quant/quantize';
import type { CalibrationCache } from './calibration-cache';

export interface ProbeOptions {
  modelPath: string;
  calibration: Dataset;
  calibrationBatchSize: number;
  cache: CalibrationCache;
  /** a folder for the probes' short-lived files */
  scratchDir: string;
  /** samples per probe (default 32 for the isolated pass, 128 for the output) */
  samples?: number;
  signal?: AbortSignal;
}

/** Quantize `config` into a fresh scratch folder, hand the files to `use`, then remove them. */
async function withQuantized<T>(o: ProbeOptions, config: QuantConfig, use: (files: Awaited<ReturnType<typeof quantizeModel>>['files']) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(o.scratchDir, 'probe-'));
  try {
    const opts: QuantizeOptions = {
      modelPath: o.modelPath, config, dataset: o.calibration, outDir: dir, name: 'probe',
      batchSize: o.calibrationBatchSize, calibrator: o.cache.calibrate, signal: o.signal,
    };
    return await use((await quantizeModel(opts)).files);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export class IsolatedProbe {
  private batches?: SampleBatch[];
  constructor(private readonly opts: ProbeOptions) {}

  /** Isolated sensitivity of every layer `config` quantizes; layers the pass could not measure are left out. */
  measure(config: QuantConfig): Promise<Map<string, number>> {
    return withQuantized(this.opts, config, async (files) => {
      const float = loadModel(files.fusedFloatModel);
      const quant = loadModel(files.quantModel);
      const layers = readQdqLayers(quant).layers;
      if (layers.length === 0) return new Map<string, number>();
      this.batches ??= await collectBatches(this.opts.calibration, this.opts.samples ?? 32, 8, this.opts.signal);
      const iso = await isolatedSensitivity(float, quant, layers, { batches: this.batches, signal: this.opts.signal });
      return new Map([...iso.byLayer].map(([name, s]) => [name, s.sensitivity]));
    });
  }
}

export class OutputProbe {
  private batches?: SampleBatch[];
  /** the float model's outputs per batch, in `outputs` order */
  private reference?: Float32Array[][];
  private outputs: string[] = [];
  constructor(private readonly opts: ProbeOptions) {}

  private async run(session: ort.InferenceSession, batch: SampleBatch): Promise<Float32Array[]> {
    throwIfAborted(this.opts.signal);
    const out = await session.run(batch.feeds, this.outputs);
    return this.outputs.map((name) => asFloat32(out[name]));
  }

  private async prepare(): Promise<void> {
    if (this.reference) return;
    this.batches = await collectBatches(this.opts.calibration, this.opts.samples ?? 128, 32, this.opts.signal);
    const session = await createSession(loadModel(this.opts.modelPath), { forComparison: false });
    try {
      this.outputs = [...session.outputNames];
      const ref: Float32Array[][] = [];
      for (const b of this.batches) ref.push((await this.run(session, b)).map((d) => Float32Array.from(d)));
      this.reference = ref;
    } finally {
      await session.release();
    }
  }

  /** Mean cosine, over the probe samples and then over the outputs, of the quantized model's outputs to the float model's (1 = same). */
  async score(config: QuantConfig): Promise<number> {
    await this.prepare();
    return withQuantized(this.opts, config, async (files) => {
      const session = await createSession(readFileSync(files.quantModel), { forComparison: false });
      try {
        const sum = this.outputs.map(() => 0);
        const n = this.outputs.map(() => 0);
        for (const [i, b] of this.batches!.entries()) {
          const xs = await this.run(session, b);
          xs.forEach((x, o) => {
            const y = this.reference![i][o];
            const per = y.length / b.rows;
            for (let r = 0; r < b.indices.length; r++) {
              const c = fidelityScore(cosine(x, y, r * per, per), 0).cosine;
              if (Number.isFinite(c)) {
                sum[o] += c;
                n[o]++;
              }
            }
          });
        }
        // each output counts alike, whatever its size (a 10-class head beside a 128-wide embedding)
        const means = sum.map((s, o) => (n[o] ? s / n[o] : NaN)).filter((m) => Number.isFinite(m));
        return means.length ? means.reduce((a, b) => a + b, 0) / means.length : NaN;
      } finally {
        await session.release();
      }
    });
  }
}
