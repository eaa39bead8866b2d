// Min/max of chosen tensors over the calibration batches, reduced inside
// onnxruntime (a ReduceMin/ReduceMax pair per tensor is added to a copy of the
// model and only the two scalars come back), so memory does not grow with the
// size of the tensors or the number of samples. The ort-cpu export uses these
// ranges for the few tensors AMCT's simulation keeps in float but the runtime's
// integer kernels need quantized (residual Add inputs, pooled outputs).
import { throwIfAborted } from '../../shared/errors';
import type { Dataset } from '../data/dataset';
import { createSession, makeNode, makeValueInfo, toOrtFeeds, type OnnxModel } from '../onnx';
import type { TensorRange } from './qdq-plan';

/** Most samples per inference in the range pass. */
export const RANGE_INFERENCE_BATCH = 8;

export interface RangeOptions {
  batchSize: number;
  /** batches to run (the config's batch_num) */
  batches: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/** A copy of `model` whose extra outputs are the min and max of each named tensor. */
export function withRangeOutputs(model: OnnxModel, tensors: readonly string[]): { model: OnnxModel; outputs: Map<string, [string, string]> } {
  const copy = model.clone();
  const g = copy.graph;
  const outputs = new Map<string, [string, string]>();
  for (const t of tensors) {
    const lo = g.uniqueName(`${t}_qtune_min`);
    const hi = g.uniqueName(`${t}_qtune_max`);
    // no axes: reduce over every axis (the same meaning in opset 13 and 18+)
    g.addNode(makeNode('ReduceMin', [t], [lo], { name: g.uniqueName(`${t}_qtune_ReduceMin`), attrs: { keepdims: 0 } }));
    g.addNode(makeNode('ReduceMax', [t], [hi], { name: g.uniqueName(`${t}_qtune_ReduceMax`), attrs: { keepdims: 0 } }));
    g.outputs.push(makeValueInfo(lo), makeValueInfo(hi));
    outputs.set(t, [lo, hi]);
  }
  return { model: copy, outputs };
}

/** Min and max of each tensor over `batches` batches of `dataset` (tensors with a non-finite value are left out). */
export async function measureRanges(model: OnnxModel, dataset: Dataset, tensors: readonly string[], opts: RangeOptions): Promise<Map<string, TensorRange>> {
  const ranges = new Map<string, TensorRange>();
  if (tensors.length === 0) return ranges;
  const { model: probe, outputs } = withRangeOutputs(model, tensors);
  const names = [...outputs.values()].flat();
  // The same samples as calibration, at most 8 per inference and without ORT's arena: this pass only needs two
  // scalars per tensor, and at calibration's batch size a real-size model's activations would double the peak memory.
  const session = await createSession(probe, { forComparison: false, lowMemory: true });
  const batchSize = dataset.effectiveBatchSize(Math.min(opts.batchSize, RANGE_INFERENCE_BATCH));
  const limit = Math.min(dataset.count, opts.batches * dataset.effectiveBatchSize(opts.batchSize));
  try {
    let done = 0;
    opts.onProgress?.(0, limit);
    for await (const batch of dataset.batches({ batchSize, limit })) {
      throwIfAborted(opts.signal);
      const result = await session.run(toOrtFeeds(batch.feeds), names);
      for (const [t, [lo, hi]] of outputs) {
        const mn = Number((result[lo].data as Float32Array)[0]);
        const mx = Number((result[hi].data as Float32Array)[0]);
        const r = ranges.get(t);
        ranges.set(t, r ? { min: Math.min(r.min, mn), max: Math.max(r.max, mx) } : { min: mn, max: mx });
      }
      done += batch.indices.length;
      opts.onProgress?.(done, limit);
    }
  } finally {
    await session.release();
  }
  for (const [t, r] of ranges) if (!Number.isFinite(r.min) || !Number.isFinite(r.max)) ranges.delete(t);
  return ranges;
}
