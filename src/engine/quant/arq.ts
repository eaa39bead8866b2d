// ARQ: symmetric int8 weight quantization (spec §2), per output channel or
// per tensor. The scale maps the weight of largest magnitude onto 127 (when
// it is positive) or -128 (when negative), so the full int8 range is used.

import { QtuneError } from '../../shared/errors';
import { quantizeValue, roundHalfEven } from './fake-quant';
import { MIN_SCALE } from './ifmr';

export interface ArqOptions {
  channelWise: boolean;
  /**
   * Axis of the output channel: 0 for Conv and Gemm(transB=1) weights, 1 for
   * ConvTranspose weights (Cin, Cout/group, k…), the last axis for MatMul and Gemm(transB=0).
   */
  channelAxis: number;
  /** ConvTranspose group count: with channelAxis 1 there are group * shape[1] output channels. */
  group?: number;
  /** layer name for error messages */
  layer?: string;
}

export interface ArqResult {
  /** one scale per output channel (channel-wise) or a single one */
  scales: Float32Array;
  /** always zero: weights are symmetric */
  offsets: Int32Array;
  /** the weights as int8 codes, same layout as the input */
  int8: Int8Array;
  /** channel of each scale's axis in the weight tensor, or null for a per-tensor scale */
  axis: number | null;
}

/** Scale for a range [mn, mx] of weights: |a| / 127 if a > 0 else |a| / 128, a the end of larger magnitude. */
export function arqScale(mn: number, mx: number): number {
  const a = Math.abs(mx) > Math.abs(mn) ? mx : mn;
  const scale = a > 0 ? Math.abs(a) / 127 : Math.abs(a) / 128;
  return scale < MIN_SCALE ? 1 : scale;
}

/**
 * Output channel of every element. `inner` is set when channels come in runs of
 * `inner` consecutive elements cycling through `count` channels (every case but
 * grouped ConvTranspose): the loops below then walk runs instead of calling `of`.
 */
interface ChannelIndexer {
  count: number;
  of: (i: number) => number;
  inner?: number;
}

function channelIndexer(shape: number[], opts: ArqOptions): ChannelIndexer {
  const axis = opts.channelAxis;
  if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length) {
    throw new QtuneError('bad_weight_axis', `Weight channel axis ${axis} is outside a ${shape.length}-D weight${opts.layer ? ` of layer "${opts.layer}"` : ''}.`, {
      layer: opts.layer,
    });
  }
  let inner = 1;
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d];
  const dim = shape[axis];
  const group = opts.group ?? 1;
  if (group > 1 && axis === 1) {
    // ConvTranspose: rows of input channel c belong to group floor(c / (Cin / group)).
    const rowsPerGroup = shape[0] / group;
    if (!Number.isInteger(rowsPerGroup)) {
      throw new QtuneError('bad_weight_group', `Weight of shape [${shape.join(', ')}] cannot be split into ${group} groups${opts.layer ? ` (layer "${opts.layer}")` : ''}.`, {
        layer: opts.layer,
      });
    }
    const rowSize = dim * inner;
    return {
      count: group * dim,
      of: (i) => Math.floor(Math.floor(i / rowSize) / rowsPerGroup) * dim + (Math.floor(i / inner) % dim),
    };
  }
  return { count: dim, of: (i) => Math.floor(i / inner) % dim, inner };
}

/** Calls `visit(channel, from, to)` over index ranges of one channel each, covering 0 … n-1. */
function forEachRun(n: number, idx: ChannelIndexer, visit: (c: number, from: number, to: number) => void): void {
  if (idx.inner === undefined) {
    for (let i = 0; i < n; i++) visit(idx.of(i), i, i + 1);
    return;
  }
  for (let from = 0, c = 0; from < n; from += idx.inner, c = (c + 1) % idx.count) visit(c, from, Math.min(n, from + idx.inner));
}

export function arqQuantize(weights: Float32Array, shape: number[], opts: ArqOptions): ArqResult {
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== weights.length) {
    throw new QtuneError('bad_weight_shape', `Weight has ${weights.length} values but shape [${shape.join(', ')}]${opts.layer ? ` (layer "${opts.layer}")` : ''}.`, {
      layer: opts.layer,
    });
  }
  for (let i = 0; i < weights.length; i++) {
    if (!Number.isFinite(weights[i])) {
      throw new QtuneError('nonfinite_weight', `Layer "${opts.layer ?? '?'}" has a non-finite weight (${weights[i]}) at index ${i}.`, { layer: opts.layer });
    }
  }
  const idx: ChannelIndexer = opts.channelWise ? channelIndexer(shape, opts) : { count: 1, of: () => 0, inner: Math.max(1, weights.length) };
  const mn = new Float64Array(idx.count).fill(Infinity);
  const mx = new Float64Array(idx.count).fill(-Infinity);
  forEachRun(weights.length, idx, (c, from, to) => {
    let lo = mn[c], hi = mx[c];
    for (let i = from; i < to; i++) {
      const w = weights[i];
      if (w < lo) lo = w;
      if (w > hi) hi = w;
    }
    mn[c] = lo;
    mx[c] = hi;
  });
  const scales = new Float32Array(idx.count);
  // An empty channel (no weights) keeps scale 1.
  for (let c = 0; c < idx.count; c++) scales[c] = mn[c] <= mx[c] ? arqScale(mn[c], mx[c]) : 1;
  const int8 = new Int8Array(weights.length);
  forEachRun(weights.length, idx, (c, from, to) => {
    const scale = scales[c];
    for (let i = from; i < to; i++) int8[i] = quantizeValue(weights[i], scale, 0);
  });
  return { scales, offsets: new Int32Array(idx.count), int8, axis: opts.channelWise ? opts.channelAxis : null };
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/**
 * Bias as int32: round(bias / (scale_w * scale_d)), with the product taken in
 * float32 because that is the bias scale the exported model stores.
 * `scaleW` has one entry (per tensor) or one per bias element.
 */
export function quantizeBias(bias: Float32Array, scaleW: Float32Array, scaleD: number, opts: { layer?: string } = {}): Int32Array {
  if (scaleW.length !== 1 && scaleW.length !== bias.length) {
    throw new QtuneError('bad_bias_shape', `Bias of ${bias.length} values does not match ${scaleW.length} weight scales${opts.layer ? ` (layer "${opts.layer}")` : ''}.`, {
      layer: opts.layer,
    });
  }
  const out = new Int32Array(bias.length);
  for (let c = 0; c < bias.length; c++) {
    const s = Math.fround(scaleW[scaleW.length === 1 ? 0 : c] * scaleD);
    const q = roundHalfEven(bias[c] / s);
    if (!(q >= INT32_MIN && q <= INT32_MAX)) {
      throw new QtuneError(
        'bias_overflow',
        `Bias ${c} of layer "${opts.layer ?? '?'}" (${bias[c]}) does not fit int32 at scale ${s} (scale_w * scale_d); skip this layer or check its activation range.`,
        { layer: opts.layer },
      );
    }
    out[c] = q;
  }
  return out;
}
