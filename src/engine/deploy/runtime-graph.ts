// The graph onnxruntime actually executes after its optimisations: which
// nodes became integer kernels (QLinearConv, QGemm, QLinearAdd …) and which
// stayed float. Read from the optimised model ORT writes on request.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSession, decodeModelProto } from '../onnx';

export interface RuntimeGraph {
  /** op type (prefixed with its domain when not the default one) → count */
  ops: Record<string, number>;
  /** nodes that compute in integers */
  integerNodes: number;
  /** Conv / Gemm / MatMul / Add … left in float */
  floatComputeNodes: number;
}

const INTEGER_OPS = new Set([
  'QLinearConv', 'QLinearMatMul', 'MatMulInteger', 'MatMulIntegerToFloat', 'ConvInteger', 'QGemm', 'QLinearAdd', 'QLinearMul',
  'QLinearConcat', 'QLinearAveragePool', 'QLinearGlobalAveragePool', 'QLinearSigmoid', 'QLinearLeakyRelu', 'QLinearSoftmax',
  'NhwcMaxPool', 'DynamicQuantizeMatMul',
]);
const FLOAT_COMPUTE = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul', 'Add', 'AveragePool', 'GlobalAveragePool', 'FusedConv', 'FusedGemm', 'FusedMatMul', 'NchwcConv']);

export async function runtimeGraph(model: string | Uint8Array): Promise<RuntimeGraph> {
  const dir = mkdtempSync(join(tmpdir(), 'qtune-ort-optimized-'));
  const file = join(dir, 'optimized.onnx');
  try {
    const session = await createSession(model, { forComparison: false, executionProvider: 'cpu', ortOptions: { optimizedModelFilePath: file } });
    await session.release();
    // the optimised file uses ORT-internal domains, so it is decoded, not loaded as a model qtune would run
    const proto = decodeModelProto(readFileSync(file));
    const ops: Record<string, number> = {};
    let integerNodes = 0;
    let floatComputeNodes = 0;
    for (const n of proto.graph?.node ?? []) {
      const op = n.opType ?? '';
      const key = n.domain ? `${n.domain}:${op}` : op;
      ops[key] = (ops[key] ?? 0) + 1;
      if (INTEGER_OPS.has(op)) integerNodes++;
      else if (FLOAT_COMPUTE.has(op)) floatComputeNodes++;
    }
    return { ops, integerNodes, floatComputeNodes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
