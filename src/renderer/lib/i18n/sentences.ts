// Sentences the engine and backend send as fields (codes and numbers), worded
// in the current language. The engine keeps its own English wording of the
// same fields for the CLI and the reports; the app never shows that text when
// the fields are there.
import { formatSimilarity, type TargetJudgement } from '../../../shared/eval-types';
import type { TuneStop, TuneSummary } from '../../../shared/tune-types';
import type { LatencyComparison, LayerTimes, RuntimeParity } from '../../../shared/deploy-types';
import type { SkipSuggestion, SuggestionReason } from '../../../shared/analysis-types';
import type { JobProgress } from '../../../shared/api';
import type { Uint8WeightLayers } from '../../../shared/quant-types';
import type { NotQuantizableReason } from '../../../shared/model-summary';
import type { ProjectWarning } from '../../../shared/project';
import { en, type MessageKey } from './en';
import { formatNumber, t } from './index.svelte';

/** A number with exactly `digits` decimals, grouped for the locale. */
export function fixed(v: number, digits: number): string {
  if (!Number.isFinite(v)) return String(v);
  return formatNumber(v, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A threshold or setting as the user gave it (no rounding to a fixed width). */
function plain(v: number): string {
  return formatNumber(v, { maximumFractionDigits: 6 });
}

/** "float 85.65%, quantized 77.30%: a drop of 8.35 points; allowed 1 point(s) — misses the target" */
export function verdictText(j: TargetJudgement): string {
  const pct = (v: number) => `${fixed(v, 2)}%`;
  const what = j.drop <= 0 ? t('verdict.noDrop', { n: fixed(-j.drop, 2) }) : t('verdict.drop', { n: fixed(j.drop, 2) });
  const rule =
    j.target?.mode === 'relative'
      ? t('verdict.ruleRelative', { percent: plain(j.target.percent), float: pct(j.floatValue), n: fixed(j.allowed, 2) })
      : t('verdict.rulePoints', { n: j.target?.mode === 'absolute' ? plain(j.target.points) : fixed(j.allowed, 2) });
  return t('verdict.text', { float: pct(j.floatValue), quant: pct(j.quantValue), what, rule, outcome: t(j.meets ? 'verdict.meets' : 'verdict.misses') });
}

/** "int8 runs 1.31× faster than float here (batch 32)", from the largest batch measured. */
export function speedupText(c: Pick<LatencyComparison, 'speedup'>): string | undefined {
  const last = c.speedup?.at(-1);
  if (!last) return undefined;
  const r = last.ratio;
  return t(r >= 1 ? 'speed.faster' : 'speed.slower', { r: fixed(r >= 1 ? r : 1 / r, 2), batch: last.batchSize });
}

/** "simulated 90.50% vs runtime 90.45% top-1; 99.8% of 2000 samples agree on top-1; largest output difference 0.04" */
export function parityText(p: RuntimeParity): string {
  const metric = p.simulatedMetric !== null && p.runtimeMetric !== null ? t('parity.metric', { sim: fixed(p.simulatedMetric, 2), real: fixed(p.runtimeMetric, 2) }) : '';
  return metric + t('parity.agree', { agree: fixed(p.top1Agreement, 1), samples: p.samples, diff: formatNumber(p.maxAbsDiff, { maximumSignificantDigits: 3 }) });
}

/** One reason the analyzer gives for keeping a layer in float. */
export function reasonText(r: SuggestionReason, s: Pick<SkipSuggestion, 'expectedGain'>): string {
  const value = r.value ?? NaN;
  const threshold = r.threshold !== undefined ? plain(r.threshold) : '';
  switch (r.kind) {
    case 'output-gain':
      return t('reason.output-gain', { share: fixed(100 * value, 0), gain: fixed(s.expectedGain ?? NaN, 5) });
    case 'accumulated-drop':
      return r.inputCosine !== undefined ? t('reason.accumulated-dropInherited', { value: fixed(value, 4), input: fixed(r.inputCosine, 4) }) : t('reason.accumulated-drop', { value: fixed(value, 4) });
    case 'weight-error':
      return t('reason.weight-error', { value: fixed(value, 5), threshold });
    case 'few-parameters':
      return t('reason.few-parameters', { value: plain(value), threshold });
    case 'input-layer':
    case 'output-layer':
      return t(`reason.${r.kind}`);
    case 'isolated-sensitivity':
    case 'accumulated-cosine':
      return t(`reason.${r.kind}`, { value: fixed(value, 4), threshold });
    default:
      // a reason kind this version does not know: the engine's own sentence
      return r.text;
  }
}

/** What keeping `layer` in float costs per inference: "+1.20 ms per batch of 32 in float (1.60 ms float, 0.40 ms int8)". */
export function floatCostText(times: LayerTimes | undefined, layer: string): string | undefined {
  const f = times?.float[layer];
  const q = times?.int8[layer];
  if (!times || f === undefined) return undefined;
  if (q === undefined) return t('cost.float', { f: fixed(f, 2), batch: times.batchSize });
  const d = f - q;
  return t('cost.diff', { d: `${d >= 0 ? '+' : '−'}${fixed(Math.abs(d), 2)}`, batch: times.batchSize, f: fixed(f, 2), q: fixed(q, 2) });
}

export function uint8WeightsText(u: Uint8WeightLayers): string {
  const text = t('note.uint8Weights', { layers: u.layers, of: u.of, tolerance: plain(u.tolerancePercent) });
  return u.inBodies ? text + t('note.uint8WeightsInBodies', { n: u.inBodies }) : text;
}

/** A job's stage in the current language; a stage this version has no words for is shown as it came. */
export function stageText(p: Pick<JobProgress, 'stage' | 'pass' | 'passes'>): string {
  const key = `stage.${p.stage}`;
  const name = key in en ? t(key as MessageKey) : p.stage;
  return p.pass !== undefined && p.passes !== undefined && p.passes > 1 ? t('stage.pass', { stage: name, pass: p.pass, passes: p.passes }) : name;
}

/** The project's evaluation metric: classification, fidelity, or a custom evaluator module. */
export function metricKindText(metric: string): string {
  if (metric === 'classification' || metric === 'fidelity') return t(`metricKind.${metric}`);
  if (metric.startsWith('custom:')) return t('metricKind.custom', { file: metric.slice('custom:'.length) });
  if (metric === 'cosine' || metric === 'sqnr' || metric === 'mse') return t(`target.${metric}`);
  return metric;
}

/** Why a layer cannot be quantized; `reason` (English) for a model summarised before the codes were kept. */
export function notQuantizableText(l: { why?: NotQuantizableReason[]; reason?: string }): string {
  if (!l.why?.length) return l.reason ?? '';
  return l.why
    .map((r) => {
      const { code, ...params } = r;
      // the constants that share the input's type are a phrase of the sentence, worded per language
      if (r.code === 'input_not_float') Object.assign(params, { with: t(`why.with.${r.with}`) });
      return t(`why.${code}`, params as Record<string, string | number>);
    })
    .join(t('why.sep'));
}

/** A model or data file of the project is missing, or changed since the project was saved. */
export function projectWarningText(w: ProjectWarning): string {
  return t(w.code === 'file_missing' ? 'warning.fileMissing' : 'warning.fileChanged', { what: t(`warning.${w.file}`), path: w.path });
}

/** A few names, and how many more. */
function nameListText(names: string[]): string {
  return names.length <= 3 ? names.join(', ') : t('tuneVerdict.more', { names: names.slice(0, 3).join(', '), n: names.length - 3 });
}

/** The one-line verdict of a tuning (shared/tune-verdict.ts words the same fields in English for the CLI). */
export function tuneVerdictText(summary: Pick<TuneSummary, 'trials' | 'best' | 'status'> & Partial<Pick<TuneSummary, 'target'>>): string {
  const best = summary.trials.find((x) => x.index === summary.best);
  if (!best) return t('tuneVerdict.none');
  const tuned = best.tuned.length ? t('tuneVerdict.tuned', { list: best.tuned.map((x) => `${x.layer} (${x.change})`).join(', ') }) : '';
  const target = summary.target;
  const figures =
    target?.mode === 'similarity'
      ? t('tuneVerdict.similarity', { metric: t(`target.${target.metric}`), value: formatSimilarity(target.metric, best.value) })
      : t('tuneVerdict.figures', { quant: fixed(best.value, 2), float: fixed(best.floatValue, 2), drop: fixed(best.drop, 2) });
  if (best.meets) {
    const n = best.floatLayers.length;
    const layers = n === 0 ? t('tuneVerdict.allInt8') : t(n === 1 ? 'tuneVerdict.inFloat1' : 'tuneVerdict.inFloat', { n, names: nameListText(best.floatLayers) });
    return t('tuneVerdict.meets', { soFar: summary.status === 'running' ? t('tuneVerdict.soFar') : '', layers, figures, trial: best.index, tuned });
  }
  if (summary.status === 'running') return t('tuneVerdict.runningMiss', { trial: best.index, figures });
  return t('tuneVerdict.unsuitable', { trial: best.index, figures });
}

/** Why a tuning ended (shared/tune-verdict.ts `tuneStopText` words the same fields in English). */
export function tuneStopReasonText(stop: TuneStop): string {
  return 'n' in stop ? t(stop.code === 'budget_trials' && stop.n === 1 ? 'tuneStop.budget_trials1' : stop.code === 'budget_minutes' && stop.n === 1 ? 'tuneStop.budget_minutes1' : `tuneStop.${stop.code}`, { n: stop.n }) : t(`tuneStop.${stop.code}`);
}
