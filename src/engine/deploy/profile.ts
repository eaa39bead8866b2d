// Time per layer as onnxruntime runs the model (graph optimisations on), from
// its profiler, mapped back to qtune's layer names. The runtime renames the
// nodes it fuses: an integer kernel keeps its layer's name plus "_token_N", a
// float convolution in the blocked layout is named after the tensor it writes
// plus "_nchwc" (e.g. the Clip output after a fused Conv+BN+Clip). Both lead
// back to a layer through the model's own graph.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QtuneError } from '../../shared/errors';
import { createSession, QUANTIZABLE_OP_TYPES, loadModel, type Feeds, type GraphIndex, type NodeProto, type OnnxModel } from '../onnx';

export interface LayerTime {
  /** qtune layer name, or the runtime's node name when it maps to no layer */
  name: string;
  /** what the runtime ran (QLinearConv, Conv, QGemm …) */
  ops: string[];
  /** milliseconds per inference (median over the timed runs) */
  ms: number;
  layer: boolean;
}

export interface LayerProfile {
  runs: number;
  /** sum of the layers' times (ms) */
  totalMs: number;
  layers: LayerTime[];
}

interface ProfileEvent {
  cat?: string;
  name?: string;
  dur?: number;
  args?: { op_name?: string };
}

const LAYER_OPS = new Set<string>(QUANTIZABLE_OP_TYPES);
/** ops the runtime folds into the layer before them */
const FOLDED = new Set(['Relu', 'Clip', 'BatchNormalization', 'Add', 'QuantizeLinear', 'DequantizeLinear', 'Identity']);

/** The qtune layer a runtime node name stands for, if any. */
export function layerOfRuntimeNode(runtimeName: string, model: OnnxModel, idx: GraphIndex = model.graph.index()): string | undefined {
  const base = runtimeName.replace(/_kernel_time$/, '').replace(/_token_\d+$/, '').replace(/_nchwc$/, '').replace(/^fused /, '');
  const direct = model.graph.getNode(base);
  let node: NodeProto | undefined = direct ?? idx.producers.get(base);
  for (let hops = 0; node && hops < 6; hops++) {
    if (LAYER_OPS.has(node.opType ?? '')) return node.name;
    if (!FOLDED.has(node.opType ?? '')) return undefined;
    node = idx.producers.get(node.input[0]);
  }
  return undefined;
}

/** Profile `runs` inferences of the model at `modelPath` (after one untimed run) and sum the time per layer. */
export async function profileLayers(modelPath: string, feeds: Feeds, runs = 5): Promise<LayerProfile> {
  const model = loadModel(modelPath);
  const idx = model.graph.index();
  const dir = mkdtempSync(join(tmpdir(), 'qtune-profile-'));
  try {
    const session = await createSession(modelPath, { forComparison: false, executionProvider: 'cpu', ortOptions: { enableProfiling: true, profileFilePrefix: join(dir, 'profile') } });
    try {
      for (let i = 0; i <= runs; i++) await session.run(feeds);
      session.endProfiling();
    } finally {
      await session.release();
    }
    const file = readdirSync(dir).find((f) => f.endsWith('.json'));
    if (!file) throw new QtuneError('profile_missing', `onnxruntime wrote no profile for ${modelPath}`, { file: modelPath });
    const events = JSON.parse(readFileSync(join(dir, file), 'utf8')) as ProfileEvent[];
    const nodeEvents = events.filter((e) => e.cat === 'Node' && e.name?.endsWith('_kernel_time'));
    // events come in run order; the first run is a warm-up. Per layer, the median over the timed runs:
    // one slow run on a busy machine does not make a layer look expensive.
    const perRun = nodeEvents.length / (runs + 1);
    const runsOf = Number.isInteger(perRun)
      ? Array.from({ length: runs }, (_, r) => nodeEvents.slice((r + 1) * perRun, (r + 2) * perRun))
      : [nodeEvents];
    const byName = new Map<string, LayerTime>();
    const samples = new Map<string, number[]>();
    runsOf.forEach((runEvents, r) => {
      for (const e of runEvents) {
        const layer = layerOfRuntimeNode(e.name!, model, idx);
        const name = layer ?? e.name!.replace(/_kernel_time$/, '');
        const entry = byName.get(name) ?? { name, ops: [], ms: 0, layer: !!layer };
        const op = e.args?.op_name ?? '?';
        if (!entry.ops.includes(op)) entry.ops.push(op);
        byName.set(name, entry);
        const list = samples.get(name) ?? new Array<number>(runsOf.length).fill(0);
        list[r] += (e.dur ?? 0) / 1000;
        samples.set(name, list);
      }
    });
    let total = 0;
    for (const [name, entry] of byName) {
      const v = [...samples.get(name)!].sort((a, b) => a - b);
      entry.ms = v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
      total += entry.ms;
    }
    return { runs, totalMs: total, layers: [...byName.values()].sort((a, b) => b.ms - a.ms) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
