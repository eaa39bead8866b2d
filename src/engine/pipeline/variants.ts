// Other IFMR/ARQ parameters to try on a layer before giving it up to float
// (the documented third step: tune activation_quant_params and
// weight_quant_params). Each variant changes one thing from the layer's
// current settings, so what helped is plain to read.

import { CHANNEL_WISE_OPS, type ActivationQuantParams, type ResolvedLayerConfig, type WeightQuantParams } from '../../shared/config-types';
import type { ConfigLayer } from '../quant/config';

export interface ParamVariant {
  /** one line, e.g. "max/min_percentile 0.999" */
  change: string;
  activation?: ActivationQuantParams;
  weight?: WeightQuantParams;
}

/** Clip percentiles tried, most conservative first: a long tail clipped at these keeps the bulk's resolution. */
const PERCENTILES = [0.9999, 0.999, 0.99];
/** A wider search lets IFMR pick a clip well below the percentile init. */
const WIDE_SEARCH_START = 0.3;

export function parameterVariants(layer: ConfigLayer, current: ResolvedLayerConfig): ParamVariant[] {
  const act = current.activation;
  const out: ParamVariant[] = [];
  for (const p of PERCENTILES) {
    if (p < Math.min(act.maxPercentile, act.minPercentile)) out.push({ change: `max/min_percentile ${p}`, activation: { max_percentile: p, min_percentile: p } });
  }
  if (act.searchRange[0] > WIDE_SEARCH_START && act.searchStep <= act.searchRange[1] - WIDE_SEARCH_START) {
    out.push({ change: `search_range [${WIDE_SEARCH_START}, ${act.searchRange[1]}]`, activation: { search_range: [WIDE_SEARCH_START, act.searchRange[1]] } });
  }
  // a 3-D Conv's activations must stay symmetric
  if (!(layer.opType === 'Conv' && layer.kernelDims === 3)) {
    out.push({ change: act.asymmetric ? 'symmetric activations' : 'asymmetric activations', activation: { asymmetric: !act.asymmetric } });
  }
  if (CHANNEL_WISE_OPS.includes(layer.opType) && !current.weight.channelWise) out.push({ change: 'channel-wise weights', weight: { channel_wise: true } });
  return out;
}
