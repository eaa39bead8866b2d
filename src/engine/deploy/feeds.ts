// The first samples of a dataset as onnxruntime feeds, for the checks that run
// a model on real samples (ranges, latency, per-layer time).
import type { Dataset } from '../data/dataset';
import { toOrtFeeds, type ort } from '../onnx';

/** The first `n` samples of a dataset as feeds of batch size exactly `n` (padding dropped); undefined when it has none. */
export async function firstFeeds(dataset: Dataset, n: number): Promise<Record<string, ort.Tensor> | undefined> {
  for await (const b of dataset.batches({ batchSize: n, limit: n })) {
    const real = b.indices.length;
    const trimmed = Object.fromEntries(
      Object.entries(b.feeds).map(([name, f]) => {
        if (b.unbatched?.includes(name)) return [name, f];
        const per = f.dims.slice(1).reduce((a, c) => a * c, 1);
        return [name, { type: f.type, data: (f.data as Float32Array).subarray(0, per * real), dims: [real, ...f.dims.slice(1)] }];
      }),
    );
    return toOrtFeeds(trimmed);
  }
  return undefined;
}
