// Running models held in memory with onnxruntime-node, and getting
// intermediate tensors out of them: ORT only returns graph outputs, so we add
// the wanted tensors as outputs, in chunks when there are many.
import * as ort from 'onnxruntime-node';
import { QtuneError } from '../../shared/errors';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needsExternalData, saveModel, serializeModel } from './io';
import type { OnnxModel } from './model';
import { makeValueInfo, shapeOf, typeName, type ModelInputSpec } from './value-info';

export interface SessionOptions {
  /**
   * Compare tensors bit for bit: turn off ORT's graph optimizations, which
   * fold and fuse nodes (changing intermediate values and removing tensors).
   * Default true; pass false for plain fast inference.
   */
  forComparison?: boolean;
  intraOpNumThreads?: number;
  /** execution provider ("cpu", "cuda", …); default: the runtime default (see setRuntimeDefaults) */
  executionProvider?: string;
  /**
   * Return memory to the system after each run instead of keeping ORT's arena at its peak: for
   * sessions whose outputs are large and short-lived (calibration), so memory stays flat.
   */
  lowMemory?: boolean;
  /**
   * Let ORT's idle threads wait without spinning between parallel work (default: they spin). For sessions that
   * share the cores with threads of qtune's own (calibration's folding): a spinning thread takes their time.
   */
  noSpinning?: boolean;
  /** further ORT options for the few sessions that need them (profiling, saving the optimized graph) */
  ortOptions?: ort.InferenceSession.SessionOptions;
}

/** What every session gets unless its caller says otherwise: set once by the CLI or the worker from the user's settings. */
export interface RuntimeDefaults {
  /** ORT intra-op threads (0 or absent: ORT's choice, one per core) */
  threads?: number;
  executionProvider?: string;
}

let runtimeDefaults: RuntimeDefaults = {};

/** The execution providers this onnxruntime build can use here (CPU always). */
export function availableExecutionProviders(): string[] {
  return ort.listSupportedBackends().filter((b) => b.bundled).map((b) => b.name);
}

/** Check and set the defaults; an unknown provider is refused with the list of those available. */
export function setRuntimeDefaults(d: RuntimeDefaults): void {
  if (d.threads !== undefined && !(Number.isInteger(d.threads) && d.threads >= 0)) {
    throw new QtuneError('runtime_threads_invalid', `threads must be a whole number ≥ 0 (0: one per core), got ${d.threads}`, { path: 'threads' });
  }
  const ep = d.executionProvider?.toLowerCase();
  if (ep) {
    const available = availableExecutionProviders();
    if (!available.includes(ep)) {
      const missing = ort.listSupportedBackends().filter((b) => !b.bundled).map((b) => b.name);
      throw new QtuneError(
        'execution_provider_unavailable',
        `execution provider '${d.executionProvider}' is not available in this onnxruntime build; available: ${available.join(', ')}${missing.length ? ` (${missing.join(', ')} need onnxruntime's GPU libraries, which are not installed)` : ''}`,
        { path: 'ep' },
      );
    }
  }
  runtimeDefaults = { threads: d.threads || undefined, executionProvider: ep };
}

export function getRuntimeDefaults(): RuntimeDefaults {
  return { ...runtimeDefaults };
}

/** One line of an ORT error, without the runtime's stack of C++ frames. */
function firstLine(message: string): string {
  return message.split('\n')[0].replace(/\s+/g, ' ').trim();
}

/**
 * An ORT session over a model: an in-memory model, its bytes, or a file (which
 * ORT reads itself, external data included). The one place sessions are made,
 * so every session gets the runtime defaults and one error for a model ORT
 * refuses.
 */
export async function createSession(model: OnnxModel | Uint8Array | string, opts: SessionOptions = {}): Promise<ort.InferenceSession> {
  if (typeof model !== 'string' && !(model instanceof Uint8Array) && needsExternalData(model)) return sessionViaFile(model, opts);
  const source = typeof model === 'string' || model instanceof Uint8Array ? model : serializeModel(model);
  const options: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: opts.forComparison === false ? 'all' : 'disabled',
  };
  if (opts.lowMemory) {
    options.enableCpuMemArena = false;
    options.enableMemPattern = false;
  }
  if (opts.noSpinning) options.extra = { session: { intra_op: { allow_spinning: '0' } } };
  const threads = opts.intraOpNumThreads ?? runtimeDefaults.threads;
  if (threads) options.intraOpNumThreads = threads;
  const ep = opts.executionProvider ?? runtimeDefaults.executionProvider;
  if (ep && ep !== 'cpu') options.executionProviders = [ep, 'cpu'];
  Object.assign(options, opts.ortOptions);
  try {
    return typeof source === 'string' ? await ort.InferenceSession.create(source, options) : await ort.InferenceSession.create(source, options);
  } catch (e) {
    const path = typeof model === 'string' ? model : model instanceof Uint8Array ? undefined : model.path;
    const reason = firstLine(e instanceof Error ? e.message : String(e));
    throw new QtuneError('model_invalid', `${path ?? 'the model'}: ONNX Runtime cannot load it (not a valid ONNX model, or one it does not support): ${reason}`, { file: path });
  }
}

/**
 * A model over the protobuf limit cannot be handed to ONNX Runtime as bytes: it is written to a private folder
 * with external data (views of the weights, no copy in memory), opened from there, and the folder removed
 * (the runtime has read or mapped the weights by then).
 */
async function sessionViaFile(model: OnnxModel, opts: SessionOptions): Promise<ort.InferenceSession> {
  const dir = mkdtempSync(join(tmpdir(), 'qtune-session-'));
  try {
    const file = join(dir, 'model.onnx');
    saveModel(model, file, { externalData: { file: 'model.onnx.data' } });
    return await createSession(file, opts);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The model's inputs as the dataset module wants them: from the graph, or from a session over it. */
export function inputSpecs(model: OnnxModel | ort.InferenceSession): ModelInputSpec[] {
  if ('graph' in model) return model.graph.feedInputs.map((v) => ({ name: v.name ?? '', dims: shapeOf(v.type) ?? [], type: typeName(v.type) }));
  return model.inputMetadata.map((m) => (m.isTensor ? { name: m.name, dims: m.shape, type: m.type } : { name: m.name, dims: [], type: 'non-tensor' }));
}

/** Tensors as ORT feeds them: a dataset batch's feeds, say (the data is shared, not copied). */
export function toOrtFeeds(tensors: Readonly<Record<string, { type: string; data: unknown; dims: readonly number[] }>>): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, f] of Object.entries(tensors)) feeds[name] = new ort.Tensor(f.type as ort.Tensor.Type, f.data as ort.Tensor.DataType, f.dims);
  return feeds;
}

/** Every tensor produced by a node of the top-level graph, in node order. */
export function allNodeOutputs(model: OnnxModel): string[] {
  const out: string[] = [];
  for (const n of model.graph.nodes) for (const o of n.output) if (o) out.push(o);
  return out;
}

/**
 * A copy of the model whose graph outputs also include `names` (existing
 * outputs stay first, in order). Value info is attached where the model
 * declares it; otherwise ORT infers the type.
 */
export function exposeTensors(model: OnnxModel, names: readonly string[] | 'all'): OnnxModel {
  const copy = model.clone();
  const g = copy.graph;
  const idx = g.index();
  const wanted = names === 'all' ? allNodeOutputs(copy) : names;
  const present = new Set(g.outputs.map((o) => o.name));
  for (const name of wanted) {
    if (present.has(name)) continue;
    if (!idx.producers.has(name) && !idx.graphInputs.has(name) && !idx.initializers.has(name)) {
      throw new QtuneError('onnx_expose', `${model.path ?? 'model'}: no tensor named '${name}' in the graph`, { file: model.path, path: name });
    }
    const vi = idx.valueInfo.get(name);
    g.outputs.push(vi ? { ...vi } : makeValueInfo(name, undefined, undefined));
    if (!vi) delete g.outputs[g.outputs.length - 1].type;
    present.add(name);
  }
  return copy;
}

export type Feeds = Record<string, ort.Tensor>;

export interface RunExposedOptions extends SessionOptions {
  /** at most this many tensors per inference (default: all at once) */
  maxTensorsPerRun?: number;
}

/**
 * Run the model and yield the requested tensors, one chunk of at most
 * `maxTensorsPerRun` per inference, so a caller can reduce each chunk (stats,
 * comparisons) and drop it before the next: memory stays bounded by a chunk.
 */
export async function* runExposedChunks(
  model: OnnxModel, feeds: Feeds, names: readonly string[] | 'all', opts: RunExposedOptions = {},
): AsyncGenerator<Record<string, ort.Tensor>> {
  const list = names === 'all' ? allNodeOutputs(model) : [...names];
  const per = Math.max(1, opts.maxTensorsPerRun ?? list.length);
  for (let i = 0; i < list.length; i += per) {
    const chunk = list.slice(i, i + per);
    const session = await createSession(exposeTensors(model, chunk), opts);
    try {
      const result = await session.run(feeds, chunk);
      yield result as Record<string, ort.Tensor>;
    } finally {
      await session.release();
    }
  }
}

/** All requested tensors by name (see runExposedChunks to bound memory). */
export async function runExposed(
  model: OnnxModel, feeds: Feeds, names: readonly string[] | 'all', opts: RunExposedOptions = {},
): Promise<Record<string, ort.Tensor>> {
  const out: Record<string, ort.Tensor> = {};
  for await (const chunk of runExposedChunks(model, feeds, names, opts)) Object.assign(out, chunk);
  return out;
}

export { ort };
