// Accumulated comparison: every tensor both models compute (matched by
// name), quantized vs float, per sample, aggregated over samples. Memory stays
// bounded by one chunk of exposed tensors of one batch of both models: for
// each chunk we open one session per model and stream the batches through.
import { QtuneError } from '../../shared/errors';
import type { TensorComparison } from '../../shared/analysis-types';
import { createSession, exposeTensors, type OnnxModel, type ort } from '../onnx';
import { compareTensors } from './metrics';
import type { QdqLayer } from './qdq-layers';
import { MetricAccumulator, numericData, sliceSamples, sliceShape, throwIfAborted, type SampleBatch } from './samples';

export interface TensorMatch {
  /** tensors both models compute, in float-model node order */
  common: string[];
  onlyInFloat: string[];
  onlyInQuant: string[];
}

function nodeOutputs(model: OnnxModel): string[] {
  const out: string[] = [];
  for (const n of model.graph.nodes) for (const o of n.output) if (o) out.push(o);
  return out;
}

/** Match the two models' node outputs by name. */
export function matchTensors(float: OnnxModel, quant: OnnxModel): TensorMatch {
  const f = nodeOutputs(float);
  const q = nodeOutputs(quant);
  const fs = new Set(f), qs = new Set(q);
  return {
    common: f.filter((n) => qs.has(n)),
    onlyInFloat: f.filter((n) => !qs.has(n)),
    onlyInQuant: q.filter((n) => !fs.has(n)),
  };
}

export interface CompareOptions {
  batches: readonly SampleBatch[];
  /** tensors exposed per inference (default 128): bounds memory, costs one more inference per chunk */
  maxTensorsPerRun?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface AccumulatedResult extends TensorMatch {
  tensors: TensorComparison[];
  notCompared: { name: string; reason: string }[];
  /** rank of each compared tensor as the model computes it (batch axis included) */
  ranks: Map<string, number>;
}

export async function runSession(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, fetches: string[], role: string): Promise<Record<string, ort.Tensor>> {
  try {
    return (await session.run(feeds, fetches)) as Record<string, ort.Tensor>;
  } catch (e) {
    throw new QtuneError('analyze_inference', `the ${role} model failed to run: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Compare every tensor present in both models over the batches. */
export async function compareAccumulated(float: OnnxModel, quant: OnnxModel, quantLayers: readonly QdqLayer[], opts: CompareOptions): Promise<AccumulatedResult> {
  const match = matchTensors(float, quant);
  const floatIdx = float.graph.index();
  const layerByOutput = new Map(quantLayers.map((l) => [l.outputTensor, l]));
  const acc = new Map<string, { acc: MetricAccumulator; shape?: number[] }>();
  const ranks = new Map<string, number>();
  const notCompared = new Map<string, string>();
  const per = Math.max(1, opts.maxTensorsPerRun ?? 128);
  const chunks: string[][] = [];
  for (let i = 0; i < match.common.length; i += per) chunks.push(match.common.slice(i, i + per));
  const total = chunks.length * opts.batches.length;
  let done = 0;
  opts.onProgress?.(0, total);
  for (const chunk of chunks) {
    throwIfAborted(opts.signal);
    const fs = await createSession(exposeTensors(float, chunk));
    const qs = await createSession(exposeTensors(quant, chunk));
    try {
      for (const batch of opts.batches) {
        throwIfAborted(opts.signal);
        const fo = await runSession(fs, batch.feeds, chunk, 'float');
        const qo = await runSession(qs, batch.feeds, chunk, 'quantized');
        for (const name of chunk) {
          if (notCompared.has(name)) continue;
          const ft = fo[name], qt = qo[name];
          const fd = numericData(ft), qd = numericData(qt);
          if (!fd || !qd) { notCompared.set(name, `not numeric (${ft.type})`); continue; }
          if (fd.length !== qd.length || ft.dims.join() !== qt.dims.join()) {
            notCompared.set(name, `shapes differ: float [${ft.dims.join(', ')}], quantized [${qt.dims.join(', ')}]`);
            continue;
          }
          let entry = acc.get(name);
          if (!entry) acc.set(name, (entry = { acc: new MetricAccumulator(), shape: sliceShape(ft.dims, batch) }));
          ranks.set(name, ft.dims.length);
          const fsl = sliceSamples(fd, ft.dims, batch);
          const qsl = sliceSamples(qd, qt.dims, batch);
          for (let s = 0; s < fsl.length; s++) entry.acc.add(compareTensors(qsl[s].data, fsl[s].data), fsl[s].sample);
        }
        opts.onProgress?.(++done, total);
      }
    } finally {
      await fs.release();
      await qs.release();
    }
  }
  const tensors: TensorComparison[] = [];
  for (const name of match.common) {
    const entry = acc.get(name);
    if (!entry || notCompared.has(name)) continue;
    const producer = floatIdx.producers.get(name);
    const layer = layerByOutput.get(name);
    tensors.push({
      index: producer ? floatIdx.position.get(producer) ?? -1 : -1,
      name,
      opType: producer?.opType ?? 'Input',
      nodeName: producer?.name ?? '',
      shape: entry.shape ?? [],
      ...(layer ? { quantizedLayer: { name: layer.name, opType: layer.opType } } : {}),
      samples: entry.acc.samples,
      metrics: entry.acc.result(),
    });
  }
  return {
    ...match,
    tensors,
    notCompared: [...notCompared].map(([name, reason]) => ({ name, reason })),
    ranks,
  };
}
