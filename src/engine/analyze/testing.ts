// Helpers for the analyzer's tests and bench (not used by the app): a small,
// independent QDQ builder (same layout as the export: activation Q → DQ,
// int8 weights + DQ, int32 bias + DQ, original names kept), float activation
// ranges, and reading .npy samples as feeds.
import { readFileSync } from 'node:fs';
import { arqQuantize, quantizeBias } from '../quant/arq';
import { findQuantizableLayers, makeNode, makeTensor, ort, runExposedChunks, tensorDims, tensorToFloat32, type OnnxModel } from '../onnx';
import { parseNpy, toFloat32 } from '../data/npy';

/** The first `count` samples of an (N, ...) float .npy as one feed tensor. */
export function npyFeed(path: string, count: number): ort.Tensor {
  const arr = parseNpy(readFileSync(path), path);
  const data = toFloat32(arr);
  const per = data.length / arr.shape[0];
  const n = Math.min(count, arr.shape[0]);
  return new ort.Tensor('float32', data.slice(0, n * per), [n, ...arr.shape.slice(1)]);
}

/** min / max of each quantizable layer's input over the feeds. */
export async function activationRanges(float: OnnxModel, feeds: Record<string, ort.Tensor>): Promise<Map<string, { min: number; max: number }>> {
  const layers = findQuantizableLayers(float).filter((l) => l.quantizable);
  const names = [...new Set(layers.map((l) => l.inputTensor))];
  const byTensor = new Map<string, { min: number; max: number }>();
  for await (const chunk of runExposedChunks(float, feeds, names)) {
    for (const [name, t] of Object.entries(chunk)) {
      let min = Infinity, max = -Infinity;
      for (const v of t.data as Float32Array) { if (v < min) min = v; if (v > max) max = v; }
      byTensor.set(name, { min, max });
    }
  }
  return new Map(layers.map((l) => [l.name, byTensor.get(l.inputTensor)!]));
}

export interface TestQdqOptions {
  /** layers to quantize (default: every quantizable one) */
  enabled?: readonly string[];
  /** per layer: multiply the activation scale (values < 1 clip hard: a deliberately bad layer) */
  scaleFactor?: Record<string, number>;
}

/** A QDQ copy of `float` with symmetric int8 activations (scale max|x|/127) and per-channel int8 weights. */
export function makeTestQdqModel(float: OnnxModel, ranges: Map<string, { min: number; max: number }>, opts: TestQdqOptions = {}): OnnxModel {
  const model = float.clone();
  const g = model.graph;
  const idx = g.index();
  const layers = findQuantizableLayers(model, idx).filter((l) => l.quantizable && (!opts.enabled || opts.enabled.includes(l.name)));
  for (const l of layers) {
    const node = g.getNode(l.name)!;
    const r = ranges.get(l.name)!;
    const sd = Math.fround((Math.max(Math.abs(r.min), Math.abs(r.max)) / 127 || 1) * (opts.scaleFactor?.[l.name] ?? 1));
    const x = node.input[0];
    const p = `${l.name}`;
    g.addInitializer(makeTensor(`${p}.x_scale`, [], Float32Array.of(sd)));
    g.addInitializer(makeTensor(`${p}.x_zp`, [], Int8Array.of(0)));
    const qOut = `${x}_QuantizeLinear_Output_${p}`, dqOut = `${x}_DequantizeLinear_Output_${p}`;
    const added = [
      makeNode('QuantizeLinear', [x, `${p}.x_scale`, `${p}.x_zp`], [qOut], { name: `${p}_act_Q` }),
      makeNode('DequantizeLinear', [qOut, `${p}.x_scale`, `${p}.x_zp`], [dqOut], { name: `${p}_act_DQ` }),
    ];
    node.input[0] = dqOut;
    if (l.weightName) {
      const w = idx.initializers.get(l.weightName)!;
      const shape = tensorDims(w);
      const channelWise = l.opType === 'Conv' || l.opType === 'ConvTranspose';
      const q = arqQuantize(tensorToFloat32(w), shape, { channelWise, channelAxis: l.channelAxis ?? 0, layer: l.name });
      g.addInitializer(makeTensor(`${l.weightName}_quantized`, shape, q.int8));
      g.addInitializer(makeTensor(`${l.weightName}_scale`, channelWise ? [q.scales.length] : [], q.scales));
      g.addInitializer(makeTensor(`${l.weightName}_zp`, channelWise ? [q.scales.length] : [], new Int8Array(q.scales.length)));
      const wOut = `${l.weightName}_DequantizeLinear_Output`;
      added.push(makeNode('DequantizeLinear', [`${l.weightName}_quantized`, `${l.weightName}_scale`, `${l.weightName}_zp`], [wOut], {
        name: `${p}_w_DQ`, attrs: channelWise ? { axis: l.channelAxis ?? 0 } : {},
      }));
      node.input[1] = wOut;
      if (l.biasName) {
        const b = tensorToFloat32(idx.initializers.get(l.biasName)!);
        const bq = quantizeBias(b, q.scales, sd, { layer: l.name });
        const bs = Float32Array.from(channelWise ? q.scales : b.map(() => q.scales[0]), (s) => Math.fround(s * sd));
        g.addInitializer(makeTensor(`${l.biasName}_quantized`, [b.length], bq));
        g.addInitializer(makeTensor(`${l.biasName}_scale`, [b.length], bs));
        g.addInitializer(makeTensor(`${l.biasName}_zp`, [b.length], new Int32Array(b.length)));
        const bOut = `${l.biasName}_DequantizeLinear_Output`;
        added.push(makeNode('DequantizeLinear', [`${l.biasName}_quantized`, `${l.biasName}_scale`, `${l.biasName}_zp`], [bOut], { name: `${p}_b_DQ`, attrs: { axis: 0 } }));
        node.input[2] = bOut;
      }
      g.removeInitializer(l.weightName);
      if (l.biasName) g.removeInitializer(l.biasName);
    }
    for (const n of added) g.addNode(n);
  }
  g.sortTopologically();
  return model;
}
