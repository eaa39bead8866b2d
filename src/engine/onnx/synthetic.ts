// Synthetic models of any size for tests and benches: a chain of residual
// blocks (Conv → Relu → Conv → Add(skip) → Relu), 5 nodes per block, with
// small real weights, so the result runs in ONNX Runtime too.
import { makeNode } from './attrs';
import { OnnxModel } from './model';
import { assignNodeNames } from './names';
import { DT, type ModelProto } from './proto';
import { makeTensor } from './tensor';
import { makeValueInfo } from './value-info';

export interface SyntheticOptions {
  channels?: number;
  /** spatial size of the (square) input */
  size?: number;
  /** leave nodes unnamed so the deterministic names get exercised */
  unnamed?: boolean;
}

/** A model of exactly `nodeCount` nodes (rounded up to a whole block of 5). */
export function makeSyntheticModel(nodeCount: number, opts: SyntheticOptions = {}): OnnxModel {
  const c = opts.channels ?? 4;
  const size = opts.size ?? 8;
  const blocks = Math.max(1, Math.ceil(nodeCount / 5));
  // deterministic pseudo-random weights (LCG), small enough to keep values bounded
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 0.2;
  const weight = (name: string) => makeTensor(name, [c, c, 3, 3], Float32Array.from({ length: c * c * 9 }, rand));
  const bias = (name: string) => makeTensor(name, [c], Float32Array.from({ length: c }, rand));
  const nodes = [];
  const initializers = [];
  let x = 'input';
  const named = (n: string) => (opts.unnamed ? undefined : n);
  for (let b = 0; b < blocks; b++) {
    const p = `b${b}`;
    initializers.push(weight(`${p}.w1`), bias(`${p}.b1`), weight(`${p}.w2`), bias(`${p}.b2`));
    const conv = { pads: [1, 1, 1, 1], kernel_shape: [3, 3] };
    nodes.push(
      makeNode('Conv', [x, `${p}.w1`, `${p}.b1`], [`${p}.c1`], { name: named(`${p}.conv1`), attrs: conv }),
      makeNode('Relu', [`${p}.c1`], [`${p}.r1`], { name: named(`${p}.relu1`) }),
      makeNode('Conv', [`${p}.r1`, `${p}.w2`, `${p}.b2`], [`${p}.c2`], { name: named(`${p}.conv2`), attrs: conv }),
      makeNode('Add', [`${p}.c2`, x], [`${p}.sum`], { name: named(`${p}.add`) }),
      makeNode('Relu', [`${p}.sum`], [`${p}.out`], { name: named(`${p}.relu2`) }),
    );
    x = `${p}.out`;
  }
  const proto: ModelProto = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'qtune-synthetic',
    metadataProps: [], trainingInfo: [], functions: [],
    graph: {
      name: 'synthetic',
      node: nodes,
      initializer: initializers,
      input: [makeValueInfo('input', DT.FLOAT, ['N', c, size, size])],
      output: [makeValueInfo(x, DT.FLOAT, ['N', c, size, size])],
      valueInfo: [], sparseInitializer: [], quantizationAnnotation: [],
    },
  };
  const model = new OnnxModel(proto);
  model.generatedNames = assignNodeNames(model.graph.nodes);
  return model;
}
