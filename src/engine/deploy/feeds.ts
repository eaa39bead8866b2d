// Dataset batches as onnxruntime feeds, for the checks that run a model on
// real samples (ranges, parity, latency, per-layer time).
import type { Batch, Dataset } from '../data/dataset';
import { ort } from '../onnx';

export function toOrtFeeds(batch: Batch): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, f] of Object.entries(batch.feeds)) feeds[name] = new ort.Tensor(f.type, f.data, f.dims);
  return feeds;
}

/** The first `n` samples of a dataset as feeds of batch size exactly `n` (padding dropped); undefined when it has none. */
export async function firstFeeds(dataset: Dataset, n: number): Promise<Record<string, ort.Tensor> | undefined> {
  for await (const b of dataset.batches({ batchSize: n, limit: n })) {
    const real = b.indices.length;
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, f] of Object.entries(b.feeds)) {
      if (b.unbatched?.includes(name)) {
        feeds[name] = new ort.Tensor(f.type, f.data, f.dims);
        continue;
      }
      const per = f.dims.slice(1).reduce((a, c) => a * c, 1);
      feeds[name] = new ort.Tensor(f.type, (f.data as Float32Array).subarray(0, per * real), [real, ...f.dims.slice(1)]);
    }
    return feeds;
  }
  return undefined;
}
