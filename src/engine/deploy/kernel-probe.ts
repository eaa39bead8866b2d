// Does this CPU's onnxruntime compute uint8 × int8 products exactly?
//
// On x86 CPUs without VNNI, onnxruntime's U8S8 GEMM (QLinearConv, QGemm,
// MatMulInteger …) multiplies with VPMADDUBSW, which adds each pair of
// products into an int16 and saturates at 32767: with full-range int8 weights
// (AMCT's ARQ uses all of [-128, 127]) the integer model then differs from its
// own simulation. Its U8U8 kernels widen first and are exact. Rather than
// guess from CPU flags, run one tiny model that saturates if the kernel does.
import { createSession, DT, makeNode, makeTensor, makeValueInfo, ort, OnnxModel, serializeModel, type ModelProto } from '../onnx';

let cached: boolean | undefined;

/** y = DQ(x: uint8 [1,4]) · DQ(w: int8 127s [4,1]); onnxruntime fuses it into its U8S8 integer GEMM. */
function probeModel(): Uint8Array {
  const proto: ModelProto = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'qtune-kernel-probe',
    metadataProps: [], trainingInfo: [], functions: [],
    graph: {
      name: 'probe',
      node: [
        makeNode('DequantizeLinear', ['x', 'one', 'zx'], ['xf'], { name: 'dqx' }),
        makeNode('DequantizeLinear', ['w', 'one', 'zw'], ['wf'], { name: 'dqw' }),
        makeNode('MatMul', ['xf', 'wf'], ['y'], { name: 'mm' }),
      ],
      initializer: [
        makeTensor('one', [], Float32Array.of(1)),
        makeTensor('zx', [], Uint8Array.of(0)),
        makeTensor('zw', [], Int8Array.of(0)),
        makeTensor('w', [4, 1], Int8Array.of(127, 127, 127, 127)),
      ],
      input: [makeValueInfo('x', DT.UINT8, [1, 4])],
      output: [makeValueInfo('y', DT.FLOAT, [1, 1])],
      valueInfo: [], sparseInitializer: [], quantizationAnnotation: [],
    },
  };
  return serializeModel(new OnnxModel(proto));
}

/** True when onnxruntime's uint8 × int8 kernels on this machine never saturate (VNNI, ARM …). Measured once. */
export async function u8s8IsExact(): Promise<boolean> {
  if (cached !== undefined) return cached;
  const session = await createSession(probeModel(), { forComparison: false, executionProvider: 'cpu' });
  try {
    const x = new ort.Tensor('uint8', new Uint8Array(4).fill(255), [1, 4]);
    const y = (await session.run({ x })).y.data as Float32Array;
    // exact: 4 · 255 · 127 = 129540; a saturating kernel gives 2 · 32767 = 65534
    cached = Math.abs(y[0] - 4 * 255 * 127) < 1;
  } finally {
    await session.release();
  }
  return cached;
}
