// The tuner: the documented tuning loop run for the user (spec §9).
//   1. the starting config (default: every quantizable layer in int8); stop if it meets the target;
//   2. rank its layers by isolated sensitivity (one analyzer pass, no per-layer runs);
//   3. roll the most sensitive prefix back to float: the shortest prefix that meets the target,
//      found by doubling the prefix, then bisecting between the last miss and the first hit
//      (a binary search that costs about 2·log2(k) trials for k layers, not log2(n) over all n,
//      since usually few layers are to blame);
//   4. prune: put each rolled-back layer back in int8, least sensitive first, and keep it there
//      when the target still holds;
//   5. for each layer still in float, try other IFMR/ARQ parameters: each variant is screened by
//      the layer's isolated error first, and only the ones that beat the current parameters are
//      evaluated; a variant that meets the target re-quantizes the layer.
// Objective: meet the target with the fewest float layers, then the best metric. Every trial is
// reported as it ends; configs already evaluated (a resumed session) are not evaluated again, and
// calibration is reused wherever the config change allows, so a trial costs about one evaluation.

import { mkdirSync } from 'node:fs';
import { DEFAULT_THRESHOLDS } from '../../shared/analysis-types';
import type { QuantConfig } from '../../shared/config-types';
import type { EvalResult } from '../../shared/eval-types';
import { isCancelled, QtuneError } from '../../shared/errors';
import type { TuneBudget, TunedLayer, TunePhase, TuneRankedLayer, TuneStatus, TuneStop, TuneSummary, TuneTrial } from '../../shared/tune-types';
import { nameList as list, tuneStopText, tuneVerdict } from '../../shared/tune-verdict';
import type { Dataset } from '../data/dataset';
import { loadModel } from '../onnx';
import { openDataFor, type DataForm } from '../data/for-model';
import { effectiveLayerConfig, quantConfigToJson, type ConfigLayer } from '../quant/config';
import { configModelOf, resolveQuantConfig, type QuantizeOptions } from '../quant/quantize';
import { CalibrationCache } from './calibration-cache';
import { IsolatedProbe, OutputProbe } from './probes';
import { evaluateWith, runTrial, type EvaluationSetup, type PipelineProgress, type TrialResult } from './trial';
import { parameterVariants, type ParamVariant } from './variants';

export interface TuneOptions {
  modelPath: string;
  /** where to start (a config.json path, its JSON, or a QuantConfig); default: the generated config */
  startConfig?: QuantizeOptions['config'];
  calibration: Dataset | DataForm;
  calibrationBatchSize: number;
  evaluation: EvaluationSetup;
  budget?: TuneBudget;
  /** the folder trial n writes its artifacts to */
  trialDir: (index: number) => string;
  /** a folder for short-lived files (isolated-sensitivity probes) */
  scratchDir: string;
  /** an earlier session of this tuning: its trials are taken as they are, not evaluated again */
  previous?: Pick<TuneSummary, 'trials' | 'ranking'>;
  /** parameter variants evaluated per float layer, best screened first (default 2) */
  variantTrialsPerLayer?: number;
  /** called once per trial, before the next starts (result undefined: the trial failed); `isBest`: it is the best so far */
  onTrial?: (trial: TuneTrial, result: TrialResult | undefined, dir: string, isBest: boolean) => void | Promise<void>;
  /** the whole state, after every trial and at the end */
  onSummary?: (summary: TuneSummary) => void | Promise<void>;
  signal?: AbortSignal;
  onProgress?: PipelineProgress;
}

class BudgetSpent extends Error {
  constructor(readonly stop: TuneStop) {
    super(tuneStopText(stop));
  }
}

/** Canonical text of a config: the same settings give the same key whatever the key order. */
function configKey(config: QuantConfig): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sort) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])])) : v;
  return JSON.stringify(sort(config));
}

/**
 * Whether trial a's metric is better than b's. Compared by drop (the distance from the float model's score,
 * in the direction of the target: accuracy lost, cosine or SQNR lost, MSE gained), which is the metric itself
 * turned so that lower is better for every kind of target; a failed trial is worse than any measured one.
 */
export function betterMetric(a: TuneTrial, b: TuneTrial): boolean {
  if (!!a.error !== !!b.error) return !a.error;
  return a.drop < b.drop;
}

/** Which trial is better: meeting the target first; then fewest float layers and the best metric; misses by metric. */
export function betterTrial(a: TuneTrial, b: TuneTrial): boolean {
  if (a.meets !== b.meets) return a.meets;
  if (a.meets && a.floatLayers.length !== b.floatLayers.length) return a.floatLayers.length < b.floatLayers.length;
  if (betterMetric(a, b) || betterMetric(b, a)) return betterMetric(a, b);
  return a.floatLayers.length < b.floatLayers.length;
}


export class Tuner {
  private readonly trials: TuneTrial[] = [];
  private readonly known = new Map<string, TuneTrial>();
  private readonly cache = new CalibrationCache();
  private readonly layers: ConfigLayer[];
  private readonly start: QuantConfig;
  private readonly started = Date.now();
  private readonly startedAt = new Date().toISOString();
  private calibration?: Dataset;
  private floatResult?: EvalResult;
  private ranking?: TuneRankedLayer[];
  private best: TuneTrial | null = null;
  private status: TuneStatus = 'running';
  private stop?: TuneStop;

  constructor(private readonly opts: TuneOptions) {
    const model = loadModel(opts.modelPath);
    const cm = configModelOf(model);
    this.layers = cm.layers;
    this.start = resolveQuantConfig(opts.startConfig, cm);
    for (const t of opts.previous?.trials ?? []) this.record(t, resolveQuantConfig(t.config, cm));
    this.ranking = opts.previous?.ranking;
  }

  summary(): TuneSummary {
    const s: TuneSummary = {
      version: 1,
      status: this.status,
      target: this.opts.evaluation.target,
      budget: this.opts.budget ?? {},
      startedAt: this.startedAt,
      ...(this.status !== 'running' ? { endedAt: new Date().toISOString() } : {}),
      floatValue: this.floatResult?.value ?? this.trials[0]?.floatValue,
      ranking: this.ranking,
      trials: [...this.trials],
      best: this.best?.index ?? null,
      verdict: '',
      ...(this.stop ? { stopReason: tuneStopText(this.stop), stop: this.stop } : {}),
      calibration: { reused: this.cache.hits, made: this.cache.misses },
    };
    s.verdict = tuneVerdict(s);
    return s;
  }

  private record(trial: TuneTrial, config: QuantConfig): void {
    this.trials.push(trial);
    this.known.set(configKey(config), trial);
    if (!this.best || betterTrial(trial, this.best)) this.best = trial;
  }

  private floatLayersOf(config: QuantConfig): string[] {
    return this.layers.filter((l) => !effectiveLayerConfig(config, l.name, l)).map((l) => l.name);
  }

  /** The starting config with `float` layers skipped and `tuned` layers' parameters replaced. */
  private configFor(float: ReadonlySet<string>, tuned: ReadonlyMap<string, ParamVariant>): QuantConfig {
    const c = structuredClone(this.start);
    for (const name of float) c.layers[name] = { ...c.layers[name], quant_enable: false };
    for (const [name, v] of tuned) {
      // a float layer's parameters do not matter: leaving them out keeps equal configs equal
      if (float.has(name)) continue;
      const e = { ...c.layers[name] };
      if (v.activation) e.activation_quant_params = { ...e.activation_quant_params, ...v.activation };
      if (v.weight) e.weight_quant_params = { ...e.weight_quant_params, ...v.weight };
      c.layers[name] = e;
    }
    return c;
  }

  private budgetLeft(): void {
    const b = this.opts.budget ?? {};
    if (b.maxTrials !== undefined && this.trials.length >= b.maxTrials) {
      throw new BudgetSpent({ code: 'budget_trials', n: b.maxTrials });
    }
    if (b.maxMinutes !== undefined && Date.now() - this.started >= b.maxMinutes * 60_000) {
      throw new BudgetSpent({ code: 'budget_minutes', n: b.maxMinutes });
    }
  }

  /** Evaluate a config (or take its earlier result): the trial. */
  private async trial(config: QuantConfig, phase: TunePhase, change: string, tuned: ReadonlyMap<string, ParamVariant>): Promise<TuneTrial> {
    const seen = this.known.get(configKey(config));
    if (seen) return seen;
    this.budgetLeft();
    const o = this.opts;
    const index = this.trials.length + 1;
    const dir = o.trialDir(index);
    mkdirSync(dir, { recursive: true });
    let result: TrialResult;
    try {
      result = await runTrial({
        modelPath: o.modelPath,
        config,
        calibration: this.calibration!,
        calibrationBatchSize: o.calibrationBatchSize,
        evaluation: o.evaluation,
        outDir: dir,
        floatResult: this.floatResult,
        calibrator: this.cache.calibrate,
        signal: o.signal,
        onProgress: (stage, done, total, message, pass) => o.onProgress?.(`trial ${index}: ${stage}`, done, total, message, pass),
      });
    } catch (err) {
      // a config the engine or the runtime cannot carry out is a failed trial, not the end of the search
      if (!(err instanceof QtuneError) || isCancelled(err)) throw err;
      const failed: TuneTrial = {
        index, phase, change, floatLayers: this.floatLayersOf(config), tuned: [...tuned].map(([layer, v]) => ({ layer, change: v.change })),
        floatValue: this.floatResult!.value, value: 0, drop: this.floatResult!.value, meets: false,
        message: `the trial failed: ${err.message.split('\n')[0]}`, error: err.message.split('\n')[0], durationMs: 0, config: quantConfigToJson(config),
      };
      this.trials.push(failed);
      this.known.set(configKey(config), failed);
      await o.onTrial?.(failed, undefined, dir, false);
      await o.onSummary?.(this.summary());
      return failed;
    }
    const j = result.run.judgement;
    const trial: TuneTrial = {
      index,
      phase,
      change,
      floatLayers: this.floatLayersOf(config),
      tuned: [...tuned].map(([layer, v]): TunedLayer => ({ layer, change: v.change })),
      floatValue: j.floatValue,
      value: j.quantValue,
      drop: j.drop,
      meets: j.meets,
      message: j.message,
      durationMs: result.run.durationMs,
      config: quantConfigToJson(config),
    };
    this.record(trial, config);
    await o.onTrial?.(trial, result, dir, this.best === trial);
    await o.onSummary?.(this.summary());
    return trial;
  }

  /** Run the search. Resolves with the final summary; cancelling stops it with everything found so far. */
  async run(): Promise<TuneSummary> {
    const o = this.opts;
    try {
      mkdirSync(o.scratchDir, { recursive: true });
      this.calibration = 'batches' in o.calibration ? o.calibration : await openDataFor(loadModel(o.modelPath), o.calibration as DataForm);
      o.onProgress?.('evaluate float', 0, 1);
      this.floatResult = await evaluateWith(o.modelPath, o.modelPath, o.evaluation, 'evaluate float', { signal: o.signal, onProgress: o.onProgress });
      await this.search();
      this.status = 'done';
    } catch (err) {
      if (err instanceof BudgetSpent) {
        this.status = 'budget';
        this.stop = err.stop;
      } else if (isCancelled(err)) {
        this.status = 'stopped';
        this.stop = { code: 'user' };
      } else throw err;
    }
    const s = this.summary();
    await o.onSummary?.(s);
    return s;
  }

  /** Layers the starting config quantizes. */
  private quantizedAtStart(): string[] {
    return this.layers.filter((l) => effectiveLayerConfig(this.start, l.name, l)).map((l) => l.name);
  }

  /** A probe's score; a config whose model the runtime refuses scores NaN (the candidate is dropped, the search goes on). */
  private async probeScore(probe: OutputProbe, config: QuantConfig): Promise<number> {
    try {
      return await probe.score(config);
    } catch (err) {
      if (err instanceof QtuneError && !isCancelled(err)) return NaN;
      throw err;
    }
  }

  /** Each variant of `layers` (with their current parameters in `tuned`), scored in the context of `float` and `tuned`. */
  private async screen(probe: OutputProbe, layers: string[], float: ReadonlySet<string>, tuned: ReadonlyMap<string, ParamVariant>) {
    const current = this.configFor(float, tuned);
    const candidates: { layer: string; v: ParamVariant }[] = [];
    for (const layer of layers) {
      const info = this.layers.find((l) => l.name === layer)!;
      const on = { ...current, layers: { ...current.layers, [layer]: { ...current.layers[layer], quant_enable: true } } };
      for (const v of parameterVariants(info, effectiveLayerConfig(on, layer, info)!)) candidates.push({ layer, v });
    }
    const scored: { layer: string; v: ParamVariant; score: number }[] = [];
    for (const [i, c] of candidates.entries()) {
      // screening costs no evaluation, but it does cost time
      this.budgetLeft();
      this.opts.onProgress?.('screen IFMR/ARQ parameters (model output on calibration samples)', i, candidates.length, `${c.layer}: ${c.v.change}`);
      const others = new Set([...float].filter((l) => l !== c.layer));
      const score = await this.probeScore(probe, this.configFor(others, new Map(tuned).set(c.layer, c.v)));
      if (Number.isFinite(score)) scored.push({ ...c, score });
    }
    this.opts.onProgress?.('screen IFMR/ARQ parameters (model output on calibration samples)', candidates.length, candidates.length);
    return scored.sort((a, b) => b.score - a.score);
  }

  private async search(): Promise<void> {
    const none = new Map<string, ParamVariant>();
    const first = await this.trial(this.start, 'start', this.opts.startConfig === undefined ? 'default config: every quantizable layer in int8' : 'the starting config', none);
    if (first.meets) {
      this.stop = { code: 'start_meets' };
      return;
    }

    // 2. rank the layers by their own error, all measured in one isolated pass
    const probeOpts = {
      modelPath: this.opts.modelPath,
      calibration: this.calibration!,
      calibrationBatchSize: this.opts.calibrationBatchSize,
      cache: this.cache,
      scratchDir: this.opts.scratchDir,
      signal: this.opts.signal,
    };
    const output = new OutputProbe(probeOpts);
    const quantized = this.quantizedAtStart();
    this.opts.onProgress?.('rank layers (isolated sensitivity)', 0, 1);
    const measured = await new IsolatedProbe(probeOpts).measure(this.start);
    // a layer the pass could not measure counts as harmless: the search only rolls back what it measured
    this.ranking = quantized.map((layer) => ({ layer, sensitivity: measured.get(layer) ?? 1 })).sort((a, b) => a.sensitivity - b.sensitivity);
    this.opts.onProgress?.('rank layers (isolated sensitivity)', 1, 1);
    await this.opts.onSummary?.(this.summary());
    const ranked = this.ranking.map((r) => r.layer);
    const sensitivity = new Map(this.ranking.map((r) => [r.layer, r.sensitivity]));
    const n = ranked.length;
    // the layers the analyzer would recommend: their own error is below its threshold
    const flagged = Math.min(Math.max(1, this.ranking.filter((r) => r.sensitivity < DEFAULT_THRESHOLDS.isolatedSensitivity).length), Math.max(1, n - 1));
    const prefix = (k: number) => new Set(ranked.slice(0, k));
    let tuned = new Map<string, ParamVariant>();
    const rollback = (k: number) =>
      this.trial(this.configFor(prefix(k), tuned), 'rollback', `keep the ${k === 1 ? 'most sensitive layer' : `${k} most sensitive layers`} in float: ${list(ranked.slice(0, k))}`, this.tunedOutside(tuned, prefix(k)));

    // 3. the shortest passing prefix: double (stopping at the flagged layers), then bisect
    //    (all n in float would be no quantization at all)
    let lo = 0;
    let hi = -1;
    for (let k = 1; k < n; ) {
      const t = await rollback(k);
      if (t.meets) {
        hi = k;
        break;
      }
      lo = k;
      if (k === flagged && k < n) {
        // the documented next step once the sensitive layers are skipped: tune the others' parameters
        const best = (await this.screen(output, ranked.slice(k), prefix(k), tuned))[0];
        const baseline = await this.probeScore(output, this.configFor(prefix(k), tuned));
        if (best && best.score > baseline) {
          const withV = new Map(tuned).set(best.layer, best.v);
          const v = await this.trial(this.configFor(prefix(k), withV), 'variant', `re-quantize ${best.layer} with ${best.v.change}`, this.tunedOutside(withV, prefix(k)));
          // the screen is a proxy: keep the change only when the evaluation agrees
          if (betterMetric(v, t)) tuned = withV;
          if (v.meets) {
            hi = k;
            break;
          }
        }
      }
      if (k === n - 1) break;
      k = k < flagged ? Math.min(2 * k, flagged) : Math.min(2 * k, n - 1);
    }
    if (hi < 0) {
      this.stop = { code: 'no_set' };
      return;
    }
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if ((await rollback(mid)).meets) hi = mid;
      else lo = mid;
    }

    // 4. prune: each rolled-back layer back in int8, least sensitive first
    const float = prefix(hi);
    for (const layer of [...float].reverse()) {
      const without = new Set([...float].filter((l) => l !== layer));
      const t = await this.trial(this.configFor(without, tuned), 'prune', `put ${layer} back in int8`, this.tunedOutside(tuned, without));
      if (t.meets) float.delete(layer);
    }

    // 5. other parameters for each layer still in float, least sensitive first, best screened first
    const perLayer = this.opts.variantTrialsPerLayer ?? 2;
    for (const layer of [...float].sort((a, b) => sensitivity.get(b)! - sensitivity.get(a)!)) {
      const others = new Set([...float].filter((l) => l !== layer));
      const asIs = await this.probeScore(output, this.configFor(others, tuned));
      const promising = (await this.screen(output, [layer], float, tuned)).filter((s) => s.score > asIs).slice(0, perLayer);
      for (const { v } of promising) {
        const withV = new Map(tuned).set(layer, v);
        const t = await this.trial(this.configFor(others, withV), 'variant', `re-quantize ${layer} with ${v.change}`, this.tunedOutside(withV, others));
        if (t.meets) {
          float.delete(layer);
          tuned = withV;
          break;
        }
      }
    }
    this.stop = { code: 'complete' };
  }

  /** The tuned layers that a config really quantizes (a float layer's parameters do not matter). */
  private tunedOutside(tuned: ReadonlyMap<string, ParamVariant>, float: ReadonlySet<string>): Map<string, ParamVariant> {
    return new Map([...tuned].filter(([l]) => !float.has(l)));
  }
}

/** Tune, and resolve with the final summary. */
export function tune(opts: TuneOptions): Promise<TuneSummary> {
  return new Tuner(opts).run();
}
