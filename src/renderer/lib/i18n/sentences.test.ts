import { afterEach, describe, expect, it } from 'vitest';
import { setLocale } from './index.svelte';
import { tuneStopReasonText, tuneVerdictText } from './sentences';
import { tuneStopText, tuneVerdict } from '../../../shared/tune-verdict';
import type { TuneStop, TuneSummary, TuneTrial } from '../../../shared/tune-types';
import { fixed, floatCostText, metricKindText, notQuantizableText, parityText, projectWarningText, reasonText, speedupText, stageText, uint8WeightsText, verdictText } from './sentences';
import { projectWarningText as englishWarning, type ProjectWarning } from '../../../shared/project';
import { speedupSentence } from '../../../shared/deploy-types';
import { notQuantizableText as englishWhy, type NotQuantizableReason } from '../../../shared/model-summary';
import { uint8WeightsNote } from '../../../shared/quant-types';
import type { TargetJudgement } from '../../../shared/eval-types';
import type { RuntimeParity } from '../../../shared/deploy-types';
import type { SuggestionReason } from '../../../shared/analysis-types';

const judgement: TargetJudgement = {
  meets: false, floatValue: 85.65, quantValue: 77.3, drop: 8.35, allowed: 1, target: { mode: 'absolute', points: 1 },
  message: 'float 85.65%, quantized 77.30%: a drop of 8.35 points; allowed 1 point(s) — misses the target',
};
const parity: RuntimeParity = {
  samples: 2000, simulatedMetric: 77.3, runtimeMetric: 77.25, top1Agreement: 99.85, maxAbsDiff: 1.0934, output: 'logits',
  maxMetricDiff: 0.3, maxFlipPercent: 1, ok: true, summary: '',
};
const reasons: SuggestionReason[] = [
  { kind: 'output-gain', value: 0.42, text: '' },
  { kind: 'isolated-sensitivity', value: 0.96031, threshold: 0.995, text: '' },
  { kind: 'accumulated-drop', value: 0.1766, inputCosine: 0.976, text: '' },
  { kind: 'accumulated-drop', value: 0.0787, text: '' },
  { kind: 'accumulated-cosine', value: 0.7994, threshold: 0.99, text: '' },
  { kind: 'weight-error', value: 0.99812, threshold: 0.999, text: '' },
  { kind: 'input-layer', text: '' },
  { kind: 'output-layer', text: '' },
  { kind: 'few-parameters', value: 400, threshold: 1000, text: '' },
];
const why: NotQuantizableReason[] = [
  { code: 'global_average_pool' }, { code: 'gemm_alpha', value: 0.5 }, { code: 'weight_shared', tensor: 'w', count: 1, nodes: 'b' },
  { code: 'conv_kernel', dims: 4 }, { code: 'weight_not_float', tensor: 'w', type: 'float16' },
];
const warnings: ProjectWarning[] = [{ code: 'file_missing', file: 'labels', path: '/data/y.npy' }, { code: 'file_changed', file: 'calibration', path: '/data/x.npy' }];
const times = { batchSize: 32, float: { a: 1.5, b: 0.2 }, int8: { a: 0.5 } };

const trial = (index: number, meets: boolean, floatLayers: string[], value: number): TuneTrial =>
  ({ index, meets, floatLayers, value, floatValue: 85.65, drop: 85.65 - value, tuned: index === 3 ? [{ layer: 'conv2', change: 'max_percentile 0.999' }] : [] }) as unknown as TuneTrial;
const tunings: Pick<TuneSummary, 'trials' | 'best' | 'status' | 'target'>[] = [
  { trials: [], best: null, status: 'running' },
  { trials: [trial(1, false, [], 77.3)], best: 1, status: 'running' },
  { trials: [trial(1, false, [], 77.3), trial(3, true, ['conv1', 'conv2', 'fc1', 'fc2', 'fc3'], 85.1)], best: 3, status: 'done' },
  { trials: [trial(2, true, ['conv1'], 85.2)], best: 2, status: 'running' },
  { trials: [trial(2, true, [], 85.2)], best: 2, status: 'done' },
  { trials: [trial(1, false, [], 0.98123)], best: 1, status: 'done', target: { mode: 'similarity', metric: 'cosine', threshold: 0.99 } },
] as unknown as Pick<TuneSummary, 'trials' | 'best' | 'status' | 'target'>[];

const stops: TuneStop[] = [
  { code: 'budget_trials', n: 1 }, { code: 'budget_trials', n: 8 }, { code: 'budget_minutes', n: 1 }, { code: 'budget_minutes', n: 30 },
  { code: 'user' }, { code: 'start_meets' }, { code: 'no_set' }, { code: 'complete' }, { code: 'interrupted' },
];

/** Every sentence of this module, worded in the current locale. */
function allSentences(): string[] {
  return [
    verdictText(judgement),
    verdictText({ ...judgement, meets: true, drop: -0.5, target: { mode: 'relative', percent: 2 } }),
    speedupText({ speedup: [{ batchSize: 100, ratio: 0.345 }] })!,
    speedupText({ speedup: [{ batchSize: 32, ratio: 1.31 }] })!,
    parityText(parity),
    ...reasons.map((r) => reasonText(r, { expectedGain: 0.01234 })),
    floatCostText(times, 'a')!,
    floatCostText(times, 'b')!,
    uint8WeightsText({ layers: 4, of: 12, tolerancePercent: 0.1 }),
    stageText({ stage: 'calibrate', pass: 1, passes: 2 }),
    stageText({ stage: 'evaluate int8' }),
    metricKindText('classification'),
    notQuantizableText({ why }),
    ...warnings.map(projectWarningText),
    ...tunings.map(tuneVerdictText),
    ...stops.map(tuneStopReasonText),
  ];
}

afterEach(() => setLocale('en'));

describe('sentences from the engine\'s fields', () => {
  it('in English, word for word what the engine and the CLI say', () => {
    setLocale('en');
    expect(verdictText(judgement)).toBe(judgement.message);
    expect(verdictText({ ...judgement, target: undefined })).toBe('float 85.65%, quantized 77.30%: a drop of 8.35 points; allowed 1.00 point(s) — misses the target');
    expect(speedupText({ speedup: [{ batchSize: 100, ratio: 0.345 }] })).toBe(speedupSentence({ speedup: [{ batchSize: 100, ratio: 0.345 }] }));
    expect(speedupText({})).toBeUndefined();
    expect(parityText(parity)).toBe('simulated 77.30% vs runtime 77.25% top-1; 99.9% of 2,000 samples agree on top-1; largest output difference 1.09');
    expect(reasonText(reasons[2], {})).toBe('the accumulated cosine falls by 0.1766 across this layer (its input is already at 0.9760, so this counts less)');
    expect(reasonText(reasons[8], {})).toBe('it has only 400 parameters (fewer than 1,000)');
    expect(floatCostText(times, 'a')).toBe('+1.00 ms per batch of 32 in float (1.50 ms float, 0.50 ms int8)');
    expect(floatCostText(times, 'b')).toBe('0.20 ms per batch of 32 in float');
    expect(floatCostText(times, 'c')).toBeUndefined();
    expect(floatCostText(undefined, 'a')).toBeUndefined();
    expect(uint8WeightsText({ layers: 4, of: 12, tolerancePercent: 0.1 })).toBe(uint8WeightsNote({ layers: 4, of: 12, tolerancePercent: 0.1 }));
    expect(notQuantizableText({ why })).toBe(why.map(englishWhy).join('; '));
    for (const s of tunings) expect(tuneVerdictText(s)).toBe(tuneVerdict(s));
    for (const s of stops) expect(tuneStopReasonText(s)).toBe(tuneStopText(s));
    expect(notQuantizableText({ reason: 'older summary' })).toBe('older summary');
    expect(stageText({ stage: 'calibrate', pass: 1, passes: 2 })).toBe('calibrate (pass 1/2)');
    expect(warnings.map(projectWarningText)).toEqual(warnings.map(englishWarning));
    expect(stageText({ stage: 'something new' })).toBe('something new');
  });

  it('in Chinese, with no English sentence left (names and units aside)', () => {
    setLocale('zh-CN');
    expect(verdictText(judgement)).toBe('浮点 85.65%，量化 77.30%：下降 8.35 个百分点；允许 1 个百分点 — 未达到目标');
    expect(speedupText({ speedup: [{ batchSize: 100, ratio: 0.345 }] })).toBe('在本机 int8 比浮点慢 2.90 倍（批大小 100）');
    // words of letters only: identifiers with digits or underscores (uint8, float16) are names
    // (and chunks with a slash are paths)
    const prose = allSentences().flatMap((s) => s.split(/[\s\u3000-\u303f\uff00-\uffef]+/)).filter((c) => !c.includes('/'));
    const words = prose.flatMap((s) => s.match(/[A-Za-z][A-Za-z0-9_]*/g) ?? []).filter((w) => /^[A-Za-z]{4,}$/.test(w));
    // op types, ONNX terms and product names are not translated
    expect([...new Set(words)].filter((w) => !/^(Conv|AveragePool|Gemm|alpha|VNNI|ONNX|Runtime|BatchNorm|IFMR|qtune)$/.test(w))).toEqual([]);
  });

  it('numbers are grouped and rounded for the locale', () => {
    setLocale('en');
    expect(fixed(1234.5, 2)).toBe('1,234.50');
    expect(fixed(NaN, 2)).toBe('NaN');
  });
});
