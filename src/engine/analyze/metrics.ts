// The eleven tensor comparison metrics of the documented accuracy comparison
// (spec §7). x is the quantized side, y the float side. Float32 data (every
// activation in practice) goes to the WebAssembly kernel; anything else to the
// element-by-element definition, which the kernel is tested against.
import type { TensorMetrics } from '../../shared/analysis-types';
import { compareFloat32, type ReluSides } from './metrics-kernel';
import { compareTensorsScalar } from './metrics-scalar';
import { reluOf, type Num } from './metrics-sums';

export { KL_FLOOR } from './metrics-sums';

export type { ReluSides };

/** All metrics of one x/y pair (both flattened, same length); `relu`: a side compared through a Relu. */
export function compareTensors(x: Num, y: Num, relu?: ReluSides): TensorMetrics {
  if (x instanceof Float32Array && y instanceof Float32Array) return compareFloat32(x, y, relu);
  return compareTensorsScalar(relu?.x ? reluOf(x) : x, relu?.y ? reluOf(y) : y);
}
