// Where each heatmap column turns from "fine" to "look here". The analyzer
// judges layers by cosine; the other columns get the threshold that means the
// same thing in their own unit, so a healthy model's cells stay pale in every
// column instead of being stretched from their own best to their own worst.

import type { AnalysisReport } from '../../shared/analysis-types';

/**
 * The SQNR (dB) that corresponds to a cosine similarity: for a small error e
 * next to a signal y, cos ≈ 1 − ‖e‖²/(2‖y‖²), so SQNR = 10·log10(1 / (2(1 − cos))).
 * Cosine 0.99 is about 17 dB, 0.999 about 27 dB.
 */
export function sqnrForCosine(cosine: number): number {
  return 10 * Math.log10(1 / (2 * Math.max(1e-12, 1 - cosine)));
}

/** Per heatmap column key (the keys of the layer metric grid): the value at which a layer starts to count. */
export function columnThresholds(report: AnalysisReport, cosine = report.thresholds.accumulatedCosine): Record<string, number> {
  const t = report.thresholds;
  return {
    accumulatedCosine: cosine,
    accumulatedSqnrDb: sqnrForCosine(cosine),
    isolatedSensitivity: t.isolatedSensitivity,
    isolatedCosine: 2 * t.isolatedSensitivity - 1,
    weightCosine: t.weightCosine,
    weightSqnrDb: sqnrForCosine(t.weightCosine),
    // skipping the layer would win back a quarter of the output cosine error the target tolerates
    gainIfSkipped: (1 - cosine) / 4,
  };
}
