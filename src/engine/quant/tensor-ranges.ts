// Min/max of chosen tensors over the calibration batches, reduced inside
// onnxruntime (a ReduceMin/ReduceMax pair per tensor is added to a copy of the
// model and only the two scalars come back), so memory does not grow with the
// size of the tensors or the number of samples. The ort-cpu export uses these
// ranges for the few tensors AMCT's simulation keeps in float but the runtime's
// integer kernels need quantized (residual Add inputs, pooled outputs).
// Streaming calibration measures them within its own pass; this separate pass
// serves the rest (the held method, layers served from the calibration cache).
import { throwIfAborted } from '../../shared/errors';
import type { Dataset } from '../data/dataset';
import { createSession, ReductionBuilder, toOrtFeeds, type OnnxModel } from '../onnx';
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

/** Min and max of each tensor over `batches` batches of `dataset` (tensors with a non-finite value are left out). */
export async function measureRanges(model: OnnxModel, dataset: Dataset, tensors: readonly string[], opts: RangeOptions): Promise<Map<string, TensorRange>> {
  const ranges = new Map<string, TensorRange>();
  if (tensors.length === 0) return ranges;
  const builder = new ReductionBuilder(model);
  const outputs = new Map(tensors.map((t) => [t, builder.addRange(t)]));
  builder.pruneToOutputs();
  // The same samples as calibration, at most 8 per inference and without ORT's arena: this pass only needs two
  // scalars per tensor, and at calibration's batch size a real-size model's activations would double the peak memory.
  const session = await createSession(builder.model, { forComparison: false, lowMemory: true });
  const batchSize = dataset.effectiveBatchSize(Math.min(opts.batchSize, RANGE_INFERENCE_BATCH));
  const limit = Math.min(dataset.count, opts.batches * dataset.effectiveBatchSize(opts.batchSize));
  try {
    let done = 0;
    opts.onProgress?.(0, limit);
    for await (const batch of dataset.batches({ batchSize, limit })) {
      throwIfAborted(opts.signal);
      const result = await session.run(toOrtFeeds(batch.feeds), builder.outputs);
      for (const [t, o] of outputs) widenRange(ranges, t, Number(result[o.min].data[0]), Number(result[o.max].data[0]));
      done += batch.indices.length;
      opts.onProgress?.(done, limit);
    }
  } finally {
    await session.release();
  }
  return finiteRanges(ranges);
}

/** Fold one batch's min and max of tensor `t` into `ranges`. */
export function widenRange(ranges: Map<string, TensorRange>, t: string, min: number, max: number): void {
  const r = ranges.get(t);
  ranges.set(t, r ? { min: Math.min(r.min, min), max: Math.max(r.max, max) } : { min, max });
}

/** The ranges without the tensors that had a non-finite value (those stay float). */
export function finiteRanges(ranges: Map<string, TensorRange>): Map<string, TensorRange> {
  for (const [t, r] of ranges) if (!Number.isFinite(r.min) || !Number.isFinite(r.max)) ranges.delete(t);
  return ranges;
}
