// One inference blocks the JavaScript thread until it ends (onnxruntime-node runs it synchronously), so a batch
// of 32 ResNet-50 images holds a Cancel back for seconds on a small CPU. Where a batch takes longer than
// `sliceMs`, it is run as slices of a few samples, sized from the model's measured time per sample; Cancel is
// heard between slices, and the slices' outputs are joined back into the batch's.
//
// Slicing must not change what a model computes, so it is done only for a model whose samples do not see each
// other (no control flow, no reduction or softmax over the batch axis: see samplesIndependent). Such a model
// gives the same outputs in slices as in one batch, up to the last bit of a float sum where the runtime picks a
// different matrix kernel for fewer rows (measured: below 4e-6 on the fixtures' MatMul layers, zero on Conv).
// A model whose batches are quick enough runs whole batches, exactly as before.
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as ort from 'onnxruntime-node';
import { throwIfAborted } from '../../shared/errors';
import { attrInt, attrInts } from './attrs';
import { constantValue } from './const-fold';
import { loadModelFromBytes } from './io';
import type { GraphIndex, OnnxModel } from './model';
import type { NodeProto } from './proto';
import { tensorToNumbers } from './tensor';

/** About how long one inference slice may hold the thread. */
export const INFERENCE_SLICE_MS = 200;

type Outputs = ort.InferenceSession.OnnxValueMapType;
type Feeds = Record<string, ort.Tensor>;

export interface SlicedRunOptions {
  signal?: AbortSignal;
  sliceMs?: number;
  /** the session's model (or its file): read, only when a batch is slow, to check that slicing is safe */
  model?: OnnxModel | string;
}

const SAMPLE_MIXING_CONTROL_FLOW = new Set(['If', 'Loop', 'Scan']);
const SOFTMAX = new Set(['Softmax', 'LogSoftmax', 'Hardmax']);

/** The axes a Reduce node reduces over (undefined: every axis; null: not known from the graph). */
function reduceAxes(idx: GraphIndex, n: NodeProto): number[] | undefined | null {
  const attr = attrInts(n, 'axes');
  if (attr) return attr;
  if (!n.input[1]) return undefined;
  const t = constantValue(idx, n.input[1]);
  return t ? tensorToNumbers(t) : null;
}

/**
 * Whether each sample's outputs depend on that sample alone, judged from the graph: no If/Loop/Scan (a
 * branch may be chosen from the whole batch), no Reduce/ArgMax/ArgMin/Softmax/Flatten over the batch axis,
 * no BatchNormalization in training mode. Conservative: a model it cannot judge counts as mixing samples.
 */
export function samplesIndependent(model: OnnxModel): boolean {
  const idx = model.graph.index();
  for (const n of model.graph.nodes) {
    const op = n.opType ?? '';
    if ((n.domain ?? '') !== '' && (n.domain ?? '') !== 'ai.onnx') continue;
    if (SAMPLE_MIXING_CONTROL_FLOW.has(op)) return false;
    if (op.startsWith('Reduce')) {
      const axes = reduceAxes(idx, n);
      if (axes === null) return false;
      if (axes === undefined || axes.length === 0) {
        if (attrInt(n, 'noop_with_empty_axes', 0) !== 1) return false;
      } else if (axes.includes(0)) {
        return false;
      }
    }
    if ((op === 'ArgMax' || op === 'ArgMin') && attrInt(n, 'axis', 0) === 0) return false;
    if (SOFTMAX.has(op) && attrInt(n, 'axis', -1) === 0) return false;
    if (op === 'Flatten' && attrInt(n, 'axis', 1) === 0) return false;
    if (op === 'BatchNormalization' && attrInt(n, 'training_mode', 0) === 1) return false;
  }
  return true;
}

/** Whether a session's batch axis is free: every tensor input's first dimension is symbolic, or 1 at most. */
function freeBatchAxis(session: ort.InferenceSession): boolean {
  return session.inputMetadata.every((m) => !m.isTensor || m.shape.length === 0 || !(typeof m.shape[0] === 'number' && m.shape[0] > 1));
}

/** Rows [from, to) of every batched feed (views, no copy); feeds in `unbatched` go whole. */
function sliceFeeds(feeds: Feeds, from: number, to: number, unbatched: readonly string[]): Feeds {
  const out: Feeds = {};
  for (const [name, t] of Object.entries(feeds)) {
    if (unbatched.includes(name)) {
      out[name] = t;
      continue;
    }
    const per = t.size / t.dims[0];
    out[name] = new ort.Tensor(t.type, (t.data as Float32Array).subarray(from * per, to * per), [to - from, ...t.dims.slice(1)]);
  }
  return out;
}

/** The slices' outputs joined along the batch axis; undefined when an output has no batch axis to join on. */
function joinOutputs(parts: readonly Outputs[], rows: readonly number[]): Outputs | undefined {
  const out: Record<string, ort.OnnxValue> = {};
  const total = rows.reduce((a, b) => a + b, 0);
  for (const name of Object.keys(parts[0])) {
    const tensors = parts.map((p) => p[name]);
    if (!tensors.every((t, i) => t instanceof ort.Tensor && t.dims.length > 0 && t.dims[0] === rows[i])) return undefined;
    const first = tensors[0] as ort.Tensor;
    let data: ort.Tensor.DataType;
    if (Array.isArray(first.data)) {
      data = tensors.flatMap((t) => t.data as string[]);
    } else {
      const Ctor = (first.data as Float32Array).constructor as new (n: number) => Float32Array;
      const joined = new Ctor(tensors.reduce((a, t) => a + t.size, 0));
      let at = 0;
      for (const t of tensors) {
        joined.set(t.data as Float32Array, at);
        at += t.size;
      }
      data = joined;
    }
    out[name] = new ort.Tensor(first.type, data, [total, ...first.dims.slice(1)]);
  }
  return out;
}

/**
 * Runs one session over batches and returns each batch's outputs as one inference would, in slices of about
 * `sliceMs` where a batch takes longer (see the top of this file). A model with a fixed batch size, one whose
 * samples may see each other, or one with an output that has no batch axis runs whole batches: Cancel then
 * waits for the batch.
 */
export class SlicedRunner {
  private msPerRow: number | undefined;
  /** probe: the first batch measures one sample; whole: batches run whole; slices: batches run in slices */
  private mode: 'probe' | 'whole' | 'slices';

  constructor(readonly session: ort.InferenceSession, private readonly opts: SlicedRunOptions = {}) {
    this.mode = freeBatchAxis(session) ? 'probe' : 'whole';
  }

  /** The outputs of a batch of `rows` samples; feeds named in `unbatched` have no batch axis. */
  async run(feeds: Feeds, rows: number, unbatched: readonly string[] = []): Promise<Outputs> {
    const batched = Object.entries(feeds).filter(([name]) => !unbatched.includes(name));
    const sliceable = this.mode !== 'whole' && rows > 1 && batched.length > 0 && batched.every(([, t]) => t.dims[0] === rows && !Array.isArray(t.data));
    if (!sliceable) return this.timed(feeds, rows);
    const sliceMs = this.opts.sliceMs ?? INFERENCE_SLICE_MS;
    const parts: Outputs[] = [];
    const sizes: number[] = [];
    let from = 0;
    if (this.mode === 'probe') {
      // one sample says how long a batch takes; it is kept as the first slice when the batch is sliced
      const first = await this.timed(sliceFeeds(feeds, 0, 1, unbatched), 1);
      if (this.msPerRow! * rows <= sliceMs || !(await this.independent())) {
        this.mode = 'whole';
        return this.timed(feeds, rows);
      }
      this.mode = 'slices';
      parts.push(first);
      sizes.push(1);
      from = 1;
    }
    while (from < rows) {
      if (from > 0) throwIfAborted(this.opts.signal);
      const n = Math.max(1, Math.min(rows - from, Math.floor(sliceMs / this.msPerRow!)));
      parts.push(await this.timed(n === rows ? feeds : sliceFeeds(feeds, from, from + n, unbatched), n));
      sizes.push(n);
      from += n;
    }
    if (parts.length === 1) return parts[0];
    const joined = joinOutputs(parts, sizes);
    if (joined) return joined;
    this.mode = 'whole';
    return this.timed(feeds, rows);
  }

  private async independent(): Promise<boolean> {
    const m = this.opts.model;
    if (m === undefined) return false;
    try {
      const model = typeof m === 'string' ? loadModelFromBytes(await readFile(m), { path: m, baseDir: dirname(m), assignNames: false }) : m;
      return samplesIndependent(model);
    } catch {
      return false; // a model that cannot be read here runs whole batches; the session itself has it already
    }
  }

  private async timed(feeds: Feeds, rows: number): Promise<Outputs> {
    const t0 = performance.now();
    const out = await this.session.run(feeds);
    this.msPerRow = Math.max(1e-3, (performance.now() - t0) / rows);
    return out;
  }
}
