// In-graph reductions: nodes appended to a copy of a model so that ONNX Runtime
// reduces activations where they are computed (C++, threads) and only small
// summaries come back to JavaScript. Copying every activation out costs more
// than the inference itself on real-size models; these summaries cost a few
// elementwise passes.
//
// Three kinds are built here:
// - extremes (per tensor, per batch): min, max, and a few whole rows that are
//   guaranteed to hold the k largest and k smallest values (row maxima, TopK,
//   Gather: cheap ops; selecting values with Compress, or binning them with
//   ScatterElements, costs ORT more per value than folding them in JavaScript);
// - ranges: min and max of a tensor (the export's extra quantized tensors);
// - exact quantization losses: Σ (round(clamp(x, lo, hi) / s) · s − x)² in
//   float64 for given quantizers, the same expression IFMR evaluates.
import * as ort from 'onnxruntime-node';
import { QtuneError } from '../../shared/errors';
import { makeNode, subgraphsOf, type AttrValue } from './attrs';
import { outerScopeInputs } from './model';
import type { OnnxModel } from './model';
import { DT } from './proto';
import { makeInt64Tensor, makeTensor } from './tensor';
import { upgradeOpset } from './upgrade';
import { makeValueInfo } from './value-info';

/** Reductions are written for opset 13 and newer (Reduce* axes as attributes below 18, as inputs from 18). */
export const REDUCTION_MIN_OPSET = 13;

export interface ExtremeOutputs {
  min: string;
  max: string;
  /** whole rows holding every value above `topTau` */
  topRows: string;
  topTau: string;
  /** whole rows holding every value below `bottomTau` */
  bottomRows: string;
  bottomTau: string;
}

export interface LossQuantizer {
  lo: number;
  hi: number;
  s: number;
}

/**
 * Appends nodes to a copy of a model. Every name it makes starts with a
 * prefix no model uses, and every output it adds is listed in `outputs`.
 */
export class ReductionBuilder {
  readonly model: OnnxModel;
  readonly outputs: string[] = [];
  private n = 0;
  private readonly prefix: string;
  private readonly opset: number;
  /** the graph input that sets k for every addExtremes, made at its first use */
  private extremesK?: string;

  constructor(source: OnnxModel) {
    this.model = source.clone();
    const from = this.model.opsetVersion('') ?? 1;
    if (from < REDUCTION_MIN_OPSET) upgradeOpset(this.model, REDUCTION_MIN_OPSET);
    this.opset = this.model.opsetVersion('') ?? REDUCTION_MIN_OPSET;
    const used = new Set<string>();
    for (const nd of this.model.graph.nodes) for (const t of [...nd.input, ...nd.output]) used.add(t);
    let p = '__qtune_r';
    while ([...used].some((t) => t.startsWith(p))) p += '_';
    this.prefix = p;
  }

  private fresh(tag: string): string {
    return `${this.prefix}${this.n++}_${tag}`;
  }

  private node(op: string, inputs: string[], attrs?: Record<string, AttrValue>, outputs = 1): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(op));
    this.model.graph.nodes.push(makeNode(op, inputs, outs, { attrs }));
    return outs;
  }

  private op(op: string, inputs: string[], attrs?: Record<string, AttrValue>): string {
    return this.node(op, inputs, attrs)[0];
  }

  private constF32(v: number): string {
    const name = this.fresh('c');
    this.model.graph.initializers.push(makeTensor(name, [], new Float32Array([v])));
    return name;
  }

  private constF64(v: number): string {
    const name = this.fresh('c');
    this.model.graph.initializers.push(makeTensor(name, [], new Float64Array([v])));
    return name;
  }

  private constI64(values: number[], dims?: number[]): string {
    const name = this.fresh('c');
    this.model.graph.initializers.push(makeInt64Tensor(name, values, dims));
    return name;
  }

  /** Reduce over `axes` (or all axes), keepdims 0; the axes form follows the opset (an input from 18 on). */
  private reduce(op: 'ReduceMax' | 'ReduceMin' | 'ReduceSumSquare', x: string, axes?: number[]): string {
    if (!axes) return this.op(op, [x], { keepdims: 0 });
    if (this.opset >= 18) return this.op(op, [x, this.constI64(axes)], { keepdims: 0 });
    return this.op(op, [x], { axes, keepdims: 0 });
  }

  /**
   * Only what the added outputs need: the model's own outputs are dropped and
   * nodes that feed none of the added outputs are removed, so a pass that
   * reduces early tensors does not run the rest of the network.
   */
  pruneToOutputs(): void {
    prune(this.model, this.outputs);
  }

  /** A copy of the model built so far that computes only `outputs` (some of `this.outputs`). */
  prunedTo(outputs: readonly string[]): OnnxModel {
    const copy = this.model.clone();
    prune(copy, outputs);
    return copy;
  }

  private output(name: string): string {
    const vi = makeValueInfo(name);
    delete vi.type; // ORT infers it
    this.model.graph.outputs.push(vi);
    this.outputs.push(name);
    return name;
  }

  /** Make an existing tensor of the graph an output (a graph input is already at hand: it is not added). */
  expose(tensor: string): string | undefined {
    if (this.model.graph.feedInputs.some((v) => v.name === tensor)) return undefined;
    if (!this.outputs.includes(tensor)) this.output(tensor);
    return tensor;
  }

  /**
   * Min, max and the k most extreme values' neighbourhood of float32 tensor
   * `tensor` for one batch, computed where the tensor lives. Per side: the
   * tensor is seen as rows along its last axis; the k rows with the largest
   * maxima (smallest minima) come back whole, with `tau`, the k-th of those row
   * extremes. Every value beyond tau lies in a returned row, and at least k
   * values are at or beyond tau. With fewer than k rows, every row comes back
   * and tau is ±inf. k is an input of the graph, given with each run
   * (`extremesFeed`): the session is made before anyone knows how many values
   * a tensor has, and the k a calibration needs depends on that.
   */
  addExtremes(tensor: string): ExtremeOutputs {
    const shape = this.op('Shape', [tensor]);
    const lastDim = this.op('Slice', [shape, this.constI64([-1]), this.constI64([Number.MAX_SAFE_INTEGER])]);
    const rows2d = this.op('Reshape', [tensor, this.op('Concat', [this.constI64([-1]), lastDim], { axis: 0 })]);
    const flatShape = this.constI64([-1]);
    if (!this.extremesK) {
      this.extremesK = this.fresh('k');
      this.model.graph.inputs.push(makeValueInfo(this.extremesK, DT.INT64, [1]));
    }
    const kConst = this.extremesK;
    const side = (largest: boolean): { tau: string; rows: string; extreme: string } => {
      const rowExtremes = this.op('Reshape', [this.reduce(largest ? 'ReduceMax' : 'ReduceMin', tensor, [-1]), flatShape]);
      const extreme = this.reduce(largest ? 'ReduceMax' : 'ReduceMin', rowExtremes);
      const kEff = this.op('Min', [kConst, this.op('Shape', [rowExtremes])]);
      const [kth, which] = this.node('TopK', [rowExtremes, kEff], { largest: largest ? 1 : 0, sorted: 1 }, 2);
      const tauRaw = this.reduce(largest ? 'ReduceMin' : 'ReduceMax', kth);
      const tau = this.op('Where', [this.op('Less', [kEff, kConst]), this.constF32(largest ? -Infinity : Infinity), tauRaw]);
      return { tau, rows: this.op('Gather', [rows2d, which], { axis: 0 }), extreme };
    };
    const top = side(true);
    const bottom = side(false);
    return {
      min: this.output(bottom.extreme),
      max: this.output(top.extreme),
      topRows: this.output(top.rows),
      topTau: this.output(top.tau),
      bottomRows: this.output(bottom.rows),
      bottomTau: this.output(bottom.tau),
    };
  }

  /** What to add to each run's feeds so that its extremes keep k rows a side (nothing when none were added). */
  extremesFeed(k: number): Record<string, ort.Tensor> {
    if (!(Number.isInteger(k) && k >= 1)) throw new QtuneError('internal', `extremes need a whole k >= 1, found ${k}`);
    return this.extremesK ? { [this.extremesK]: new ort.Tensor('int64', BigInt64Array.of(BigInt(k)), [1]) } : {};
  }

  /** Min and max of `tensor` over all its values for one batch (two scalars). */
  addRange(tensor: string): { min: string; max: string } {
    return { min: this.output(this.reduce('ReduceMin', tensor)), max: this.output(this.reduce('ReduceMax', tensor)) };
  }

  /** Σ (round(clamp(x, lo, hi) / s) · s − x)² in float64, one output per quantizer (s > 0). */
  addExactLosses(tensor: string, quantizers: readonly LossQuantizer[]): string[] {
    const x64 = this.op('Cast', [this.op('Reshape', [tensor, this.constI64([-1])])], { to: DT.DOUBLE });
    return quantizers.map((q) => {
      if (!(q.s > 0)) throw new QtuneError('internal', 'exact losses need a positive step');
      const clipped = this.op('Clip', [x64, this.constF64(q.lo), this.constF64(q.hi)]);
      const s = this.constF64(q.s);
      const level = this.op('Mul', [this.op('Round', [this.op('Div', [clipped, s])]), s]);
      return this.output(this.reduce('ReduceSumSquare', this.op('Sub', [level, x64])));
    });
  }
}

/** Keep only `outputs` as the graph's outputs, and only the nodes and initializers they need. */
function prune(model: OnnxModel, outputs: readonly string[]): void {
  const g = model.graph;
  const keep = new Set(outputs);
  g.outputs.splice(0, g.outputs.length, ...g.outputs.filter((o) => keep.has(o.name ?? '')));
  const needed = new Set(outputs);
  const nodes = [...g.nodes].reverse().filter((n) => {
    if (!n.output.some((o) => needed.has(o))) return false;
    for (const i of n.input) if (i) needed.add(i);
    for (const sg of subgraphsOf(n)) for (const i of outerScopeInputs(sg)) needed.add(i);
    return true;
  });
  g.nodes.splice(0, g.nodes.length, ...nodes.reverse());
  g.initializers.splice(0, g.initializers.length, ...g.initializers.filter((t) => needed.has(t.name ?? '')));
}
