// Running models held in memory with onnxruntime-node, and getting
// intermediate tensors out of them: ORT only returns graph outputs, so we add
// the wanted tensors as outputs, in chunks when there are many.
import * as ort from 'onnxruntime-node';
import { QtuneError } from '../../shared/errors';
import { serializeModel } from './io';
import type { OnnxModel } from './model';
import { makeValueInfo } from './value-info';

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

/** An ORT session over the model's current in-memory state. */
export async function createSession(model: OnnxModel | Uint8Array, opts: SessionOptions = {}): Promise<ort.InferenceSession> {
  const bytes = model instanceof Uint8Array ? model : serializeModel(model);
  const options: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: opts.forComparison === false ? 'all' : 'disabled',
  };
  const threads = opts.intraOpNumThreads ?? runtimeDefaults.threads;
  if (threads) options.intraOpNumThreads = threads;
  const ep = opts.executionProvider ?? runtimeDefaults.executionProvider;
  if (ep && ep !== 'cpu') options.executionProviders = [ep, 'cpu'];
  try {
    return await ort.InferenceSession.create(bytes, options);
  } catch (e) {
    const path = model instanceof Uint8Array ? undefined : model.path;
    throw new QtuneError('ort-session', `${path ?? 'model'}: ONNX Runtime cannot load it: ${(e as Error).message.split('\n')[0]}`, { file: path });
  }
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
      throw new QtuneError('onnx-expose', `${model.path ?? 'model'}: no tensor named '${name}' in the graph`, { file: model.path, path: name });
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
