// Which layers' int8-weight integer kernels give other answers than the
// simulation on this machine (see kernel-probe.ts for why: x86 without VNNI
// saturates pairs of uint8 × int8 products). Each quantized layer is cut out of
// the exported model as one Q/DQ node unit, fed the input codes the simulation
// computed on a few calibration samples, and run as the runtime runs it; its
// output codes are compared with the simulation's. All units sit side by side
// in one model, so the check costs one session and one run. Layers that differ by more
// than one code step (a rounding tie) anywhere are the ones to store with
// uint8 weights, whose kernel is exact. The samples go a few per run, with a
// cancellation check and a progress report between runs: on a real-size model
// eight samples of the simulation are seconds of uninterruptible work.
import { throwIfAborted } from '../../shared/errors';
import { codesApart } from './codes-kernel';
import { createSession, exposeTensors, makeValueInfo, ort, OnnxModel, serializeModel, shapeOf, DT, type Feeds, type GraphIndex, type ModelProto, type NodeProto, type ValueInfoProto } from '../onnx';

export interface MismatchOptions {
  signal?: AbortSignal;
  /** runs done of runs to do */
  onProgress?: (done: number, total: number) => void;
  /** samples per run (default 1) */
  samplesPerRun?: number;
}

interface NodeUnit {
  layer: string;
  nodes: NodeProto[];
  input: string;
  output: string;
}

function producedBy(idx: GraphIndex, t: string | undefined, op: string): NodeProto | undefined {
  const p = t ? idx.producers.get(t) : undefined;
  return p && p.opType === op && (p.domain ?? '') === '' ? p : undefined;
}

/** The DQ → layer → (Relu/Clip) → Q unit the runtime fuses, or undefined when the layer's output is not quantized. */
function nodeUnit(idx: GraphIndex, layer: NodeProto): NodeUnit | undefined {
  const dqIn = producedBy(idx, layer.input[0], 'DequantizeLinear');
  if (!dqIn) return undefined;
  const weightDqs = layer.input.slice(1).map((i) => producedBy(idx, i, 'DequantizeLinear'));
  if (weightDqs.some((d, k) => layer.input[k + 1] && !d)) return undefined;
  let out = layer.output[0];
  const chain: NodeProto[] = [];
  let cons = idx.consumers.get(out) ?? [];
  if (cons.length === 1 && (cons[0].opType === 'Relu' || cons[0].opType === 'Clip')) {
    chain.push(cons[0]);
    out = cons[0].output[0];
    cons = idx.consumers.get(out) ?? [];
  }
  if (cons.length !== 1 || cons[0].opType !== 'QuantizeLinear') return undefined;
  const q = cons[0];
  const nodes = [dqIn, ...(weightDqs.filter(Boolean) as NodeProto[]), layer, ...chain, q];
  // Clip bounds and the like may come from Constant nodes: they travel with the unit
  const constants = nodes.flatMap((n) => n.input).map((i) => producedBy(idx, i, 'Constant')).filter((n): n is NodeProto => !!n);
  return { layer: layer.name ?? '', nodes: [...new Set(constants), ...nodes], input: dqIn.input[0], output: q.output[0] };
}

/**
 * One model holding every unit side by side, each reading its own copy of its
 * input: a unit's output never feeds another unit (every layer is checked on
 * the simulation's codes), and one session and one run serve every layer.
 * Each unit returns its output codes, one byte each, which the codes kernel
 * compares with the simulation's (in the runtime, the comparison's
 * half-dozen elementwise ops over every code cost more than the units
 * themselves).
 * Tensors made inside unit k get the suffix `tag + k`; initializers are shared.
 */
function unitsModel(model: OnnxModel, idx: GraphIndex, units: readonly NodeUnit[], dims: ReadonlyMap<string, readonly number[]>, types: ReadonlyMap<string, number>, tag: string): Uint8Array {
  const nodes: NodeProto[] = [];
  const needed = new Set<string>();
  const input: ValueInfoProto[] = [];
  const output: ValueInfoProto[] = [];
  units.forEach((u, k) => {
    const produced = new Set([u.input, ...u.nodes.flatMap((n) => n.output)]);
    const local = (t: string) => (t && produced.has(t) ? `${t}${tag}${k}` : t);
    for (const n of u.nodes) {
      for (const i of n.input) if (i && idx.initializers.has(i)) needed.add(i);
      nodes.push({ ...n, name: `${n.name ?? n.opType}${tag}${k}`, input: n.input.map(local), output: n.output.map(local) });
    }
    // the batch axis is left free: runs may take different numbers of samples
    const free = (t: string) => [...dims.get(t)!].map((d, i) => (i === 0 ? 'N' : d));
    input.push(makeValueInfo(local(u.input), DT.UINT8, free(u.input)));
    output.push(makeValueInfo(local(u.output), types.get(u.output)!, free(u.output)));
  });
  const proto: ModelProto = {
    irVersion: 8,
    opsetImport: model.proto.opsetImport,
    producerName: 'qtune-saturation-check',
    metadataProps: [], trainingInfo: [], functions: [],
    graph: {
      name: 'units',
      node: nodes,
      initializer: [...needed].map((n) => idx.initializers.get(n)!),
      input, output,
      valueInfo: [], sparseInitializer: [], quantizationAnnotation: [],
    },
  };
  return serializeModel(new OnnxModel(proto));
}

/**
 * The names among `layers` whose fused integer kernel, run by onnxruntime on
 * this machine, differs from the simulation by more than one output code on `feeds`.
 */
export async function saturatingLayers(model: OnnxModel, feeds: Feeds, layers: readonly string[], maxFraction = 0, opts: MismatchOptions = {}): Promise<Set<string>> {
  const out = new Set<string>();
  for (const [layer, fraction] of await codeMismatches(model, feeds, layers, opts)) if (fraction > maxFraction) out.add(layer);
  return out;
}

/** The feeds as runs of at most `per` samples (views), when the model's batch axis is free; else one run. */
function sampleRuns(model: OnnxModel, feeds: Feeds, per: number): Feeds[] {
  const free = model.graph.feedInputs.every((v) => {
    const d0 = shapeOf(v.type)?.[0];
    return !(typeof d0 === 'number' && d0 > 1);
  });
  const rows = Object.values(feeds)[0]?.dims[0] ?? 1;
  if (!free || rows <= per) return [feeds];
  const runs: Feeds[] = [];
  for (let start = 0; start < rows; start += per) {
    const end = Math.min(rows, start + per);
    const run: Feeds = {};
    for (const [name, t] of Object.entries(feeds)) {
      if (t.dims[0] !== rows || typeof t.data === 'string' || !('subarray' in t.data)) {
        run[name] = t;
        continue;
      }
      const size = t.data.length / rows;
      run[name] = new ort.Tensor(t.type, (t.data as Float32Array).subarray(start * size, end * size), [end - start, ...t.dims.slice(1)]);
    }
    runs.push(run);
  }
  return runs;
}

/** Per checked layer: the fraction of its output codes that differ from the simulation by more than one step. */
export async function codeMismatches(model: OnnxModel, feeds: Feeds, layers: readonly string[], opts: MismatchOptions = {}): Promise<Map<string, number>> {
  const idx = model.graph.index();
  const units = layers.map((l) => model.graph.getNode(l)).filter((n): n is NodeProto => !!n && n.opType !== 'AveragePool').map((n) => nodeUnit(idx, n)).filter((u): u is NodeUnit => !!u);
  const out = new Map<string, number>();
  if (units.length === 0) return out;
  throwIfAborted(opts.signal);
  const names = [...new Set(units.flatMap((u) => [u.input, u.output]))];
  const runs = sampleRuns(model, feeds, Math.max(1, opts.samplesPerRun ?? 1));
  const simulation = await createSession(exposeTensors(model, names));
  let check: { session: ort.InferenceSession; units: NodeUnit[]; tag: string } | undefined;
  const bad = new Map<string, number>();
  const seen = new Map<string, number>();
  try {
    for (const [r, run] of runs.entries()) {
      throwIfAborted(opts.signal);
      const sim = (await simulation.run(run, names)) as Record<string, ort.Tensor>;
      if (!check) {
        const checked = units.filter((u) => sim[u.input].type === 'uint8');
        if (checked.length === 0) return out;
        const used = new Set(model.graph.nodes.flatMap((n) => [...n.input, ...n.output]));
        let tag = '__qtune_unit';
        while ([...used].some((t) => t.includes(tag))) tag += '_';
        const dims = new Map(checked.flatMap((u) => [[u.input, sim[u.input].dims], [u.output, sim[u.output].dims]] as const));
        const types = new Map(checked.map((u) => [u.output, sim[u.output].type === 'int8' ? DT.INT8 : DT.UINT8]));
        const bytes = unitsModel(model, idx, checked, dims, types, tag);
        // onnxruntime's CPU integer kernels are what is checked
        check = { session: await createSession(bytes, { forComparison: false, executionProvider: 'cpu' }), units: checked, tag };
        throwIfAborted(opts.signal);
      }
      const { session, units: checked, tag } = check;
      const feeds: Feeds = {};
      checked.forEach((u, k) => (feeds[`${u.input}${tag}${k}`] = sim[u.input]));
      const result = await session.run(feeds);
      checked.forEach((u, k) => {
        const want = sim[u.output].data as Uint8Array | Int8Array;
        bad.set(u.layer, (bad.get(u.layer) ?? 0) + codesApart(result[`${u.output}${tag}${k}`].data as Uint8Array | Int8Array, want));
        seen.set(u.layer, (seen.get(u.layer) ?? 0) + want.length);
      });
      opts.onProgress?.(r + 1, runs.length);
    }
  } finally {
    await simulation.release();
    await check?.session.release();
  }
  for (const u of check?.units ?? []) out.set(u.layer, bad.get(u.layer)! / Math.max(1, seen.get(u.layer)!));
  return out;
}
