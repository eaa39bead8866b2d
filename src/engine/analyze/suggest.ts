// Which layers to keep in float, ranked, each with its reasons. Follows the
// documented heuristics (input, output and few-parameter layers are likely
// sensitive; accumulated cosine below 0.99 marks a candidate) and weighs in
// what the analyzer measured.
//
// Score (higher = skip first). Measured evidence is expressed as a severity:
// the error a layer adds divided by the error the threshold tolerates, so 1
// means "exactly at the threshold":
//   isolated sensitivity s:      4 · (1 − s) / (1 − T_iso)        reason when s < T_iso
//     (the primary signal, as in the documented automatic rollback: it
//     measures the layer alone, free of what happened before it)
//   accumulated drop across it:  2 · drop / (1 − T_acc) · k       reason when drop · k ≥ ¼ (1 − T_acc)
//     k = 1 while the layer's input is still close to float (input cosine
//     ≥ T_acc), else (1 − T_acc) / (1 − input cosine): downstream of a
//     damaged layer every layer amplifies the error it receives, and its
//     drop says more about that error than about the layer itself
//   accumulated cosine c < T_acc: + 0.5 (cumulative: it also counts every layer before)
//   weight cosine w < T_w:       (1 − w) / (1 − T_w)
//   measured output error share e (the share of the model output's cosine
//   error that skipping the layer alone removes): 4 · e           reason when e ≥ 5%
//   (the most direct evidence; relative, because what matters is how much
//   of the quantized model's own error a layer accounts for)
//   input layer, output layer, few parameters: + 0.5 each (documented, not measured)
// A layer is suggested when it has at least one reason; structural reasons
// alone score at most 1.5, below any layer a measurement condemns. It is
// recommended only when its own error is measured (see SkipSuggestion).
import type { AnalysisThresholds, LayerAnalysis, SkipSuggestion, SuggestionReason } from '../../shared/analysis-types';

const fmt = (v: number, d = 4) => (Number.isFinite(v) ? v.toFixed(d) : String(v));

export function suggestSkips(layers: readonly LayerAnalysis[], t: AnalysisThresholds): SkipSuggestion[] {
  const out: Omit<SkipSuggestion, 'rank'>[] = [];
  for (const l of layers) {
    if (!l.quantized) continue;
    const reasons: SuggestionReason[] = [];
    let score = 0;
    const gain = l.output?.gainIfSkipped;
    const share = l.output?.errorShareIfSkipped;
    if (share !== undefined && Number.isFinite(share) && share >= 0.05) {
      score += 4 * share;
      reasons.push({
        kind: 'output-gain', value: share,
        text: `skipping it alone removes ${(100 * share).toFixed(0)}% of the model output's cosine error (cosine +${fmt(gain ?? NaN, 5)})`,
      });
    }
    const iso = l.isolated?.sensitivity;
    if (iso !== undefined && Number.isFinite(iso) && iso < t.isolatedSensitivity) {
      score += (4 * (1 - iso)) / (1 - t.isolatedSensitivity);
      reasons.push({
        kind: 'isolated-sensitivity', value: iso, threshold: t.isolatedSensitivity,
        text: `quantized alone (float input) its output scores ${fmt(iso)} (0.5 + 0.5·cos), below ${t.isolatedSensitivity}`,
      });
    }
    const drop = l.accumulatedCosineDrop;
    const cosIn = l.accumulatedInputCosine ?? 1;
    const k = cosIn >= t.accumulatedCosine ? 1 : Number.isFinite(cosIn) ? (1 - t.accumulatedCosine) / (1 - cosIn) : 0;
    if (drop !== undefined && Number.isFinite(drop) && drop * k >= 0.25 * (1 - t.accumulatedCosine)) {
      score += (2 * drop * k) / (1 - t.accumulatedCosine);
      reasons.push({
        kind: 'accumulated-drop', value: drop, ...(k < 1 ? { inputCosine: cosIn } : {}),
        text: `the accumulated cosine falls by ${fmt(drop)} across this layer${k < 1 ? ` (its input is already at ${fmt(cosIn)}, so this counts less)` : ''}`,
      });
    }
    const acc = l.accumulatedCosine;
    if (acc !== undefined && (Number.isNaN(acc) || acc < t.accumulatedCosine)) {
      score += 0.5;
      reasons.push({
        kind: 'accumulated-cosine', value: acc, threshold: t.accumulatedCosine,
        text: `accumulated cosine of its output is ${fmt(acc)}, below ${t.accumulatedCosine}`,
      });
    }
    const wc = l.weight?.cosine;
    if (wc !== undefined && Number.isFinite(wc) && wc < t.weightCosine) {
      score += (1 - wc) / (1 - t.weightCosine);
      reasons.push({ kind: 'weight-error', value: wc, threshold: t.weightCosine, text: `int8 weights have cosine ${fmt(wc, 5)} to the float weights, below ${t.weightCosine}` });
    }
    if (l.isInputLayer) { score += 0.5; reasons.push({ kind: 'input-layer', text: 'it is an input layer (documented as likely sensitive)' }); }
    if (l.isOutputLayer) { score += 0.5; reasons.push({ kind: 'output-layer', text: 'it is an output layer (documented as likely sensitive)' }); }
    if (l.paramCount > 0 && l.paramCount < t.fewParameters) {
      score += 0.5;
      reasons.push({ kind: 'few-parameters', value: l.paramCount, threshold: t.fewParameters, text: `it has only ${l.paramCount} parameters (fewer than ${t.fewParameters})` });
    }
    if (reasons.length === 0) continue;
    const ownError = reasons.some(
      (r) => r.kind === 'output-gain' || r.kind === 'isolated-sensitivity' || r.kind === 'weight-error' || (r.kind === 'accumulated-drop' && k === 1),
    );
    out.push({ layer: l.name, opType: l.opType, score, reasons, recommended: ownError, ...(gain !== undefined ? { expectedGain: gain } : {}) });
  }
  out.sort((a, b) => b.score - a.score || a.layer.localeCompare(b.layer));
  return out.map((s, i) => ({ rank: i + 1, ...s }));
}
