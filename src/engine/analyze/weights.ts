// Weight error: each quantized layer's float weights (from the float
// reference, normally the BN-fused model the QDQ weights were made from)
// against their dequantized int8 copy, whole tensor and per output channel.
import { QtuneError } from '../../shared/errors';
import type { WeightError } from '../../shared/analysis-types';
import { resolveScopedNode, scopeIndex, tensorDims, tensorToFloat32, type OnnxModel } from '../onnx';
import { cosineFromSums, sqnrFromSums } from '../eval/metrics';
import { dequantizeWeight, type QdqLayer } from './qdq-layers';

/** Per-channel min / max of a weight along `axis` (the whole tensor as one channel when axis is undefined). */
export function channelRanges(w: Float32Array, shape: readonly number[], axis: number | undefined): { min: number[]; max: number[] } {
  let inner = 1;
  const dim = axis === undefined ? 1 : shape[axis];
  if (axis !== undefined) for (let d = axis + 1; d < shape.length; d++) inner *= shape[d];
  const min = new Array<number>(dim).fill(Infinity), max = new Array<number>(dim).fill(-Infinity);
  for (let i = 0; i < w.length; i++) {
    const c = axis === undefined ? 0 : Math.floor(i / inner) % dim;
    if (w[i] < min[c]) min[c] = w[i];
    if (w[i] > max[c]) max[c] = w[i];
  }
  return { min, max };
}

/**
 * Weight error of one layer, or undefined when it has no int8 weight.
 * `outputAxis` (the layer's output-channel axis) sets the axis of the channel
 * ranges when the weight is quantized per tensor.
 */
export function weightError(float: OnnxModel, layer: QdqLayer, outputAxis?: number): WeightError | undefined {
  const w = layer.weight;
  if (!w) return undefined;
  // a layer inside an If/Loop/Scan body may read an outer initializer: look it up in the body's scope
  const found = resolveScopedNode(float, layer.name);
  const name = found?.node.input[1];
  const idx = found?.scope.owner ? scopeIndex(found.scope) : float.graph.index();
  const t = name ? idx.initializers.get(name) ?? idx.constants.get(name) : undefined;
  if (!t) throw new QtuneError('analyze_weights', `layer '${layer.name}': the float model has no constant weight for it`, { layer: layer.name });
  const shape = tensorDims(t);
  if (shape.join() !== w.shape.join()) {
    throw new QtuneError('analyze_weights', `layer '${layer.name}': float weight [${shape.join(', ')}] and int8 weight [${w.shape.join(', ')}] differ in shape`, { layer: layer.name });
  }
  const y = tensorToFloat32(t);
  const x = dequantizeWeight(w);
  const channels = w.axis === undefined ? 1 : shape[w.axis];
  let inner = 1;
  if (w.axis !== undefined) for (let d = w.axis + 1; d < shape.length; d++) inner *= shape[d];
  const dot = new Float64Array(channels), xx = new Float64Array(channels), yy = new Float64Array(channels), dd = new Float64Array(channels);
  for (let i = 0; i < y.length; i++) {
    const c = w.axis === undefined ? 0 : Math.floor(i / inner) % channels;
    const a = x[i], b = y[i], d = a - b;
    dot[c] += a * b; xx[c] += a * a; yy[c] += b * b; dd[c] += d * d;
  }
  const sum = (v: Float64Array) => v.reduce((s, e) => s + e, 0);
  const out: WeightError = {
    weightName: name!,
    shape,
    cosine: cosineFromSums(sum(dot), sum(xx), sum(yy)),
    sqnrDb: sqnrFromSums(sum(yy), sum(dd)),
    channelRanges: channelRanges(y, shape, w.axis ?? outputAxis),
  };
  if (w.axis !== undefined) {
    out.channelAxis = w.axis;
    out.perChannel = Array.from({ length: channels }, (_, c) => ({ cosine: cosineFromSums(dot[c], xx[c], yy[c]), sqnrDb: sqnrFromSums(yy[c], dd[c]) }));
  }
  return out;
}
