// The eleven tensor comparison metrics of the documented accuracy comparison
// (spec §7). x is the quantized side, y the float side. Float32 data (every
// activation in practice) goes to the WebAssembly kernel; anything else to the
// element-by-element definition, which the kernel is tested against.
import type { TensorMetrics } from '../../shared/analysis-types';
import { compareFloat32 } from './metrics-kernel';
import { compareTensorsScalar } from './metrics-scalar';
import type { Num } from './metrics-sums';

export { KL_FLOOR } from './metrics-sums';

/** All metrics of one x/y pair (both flattened, same length). */
export function compareTensors(x: Num, y: Num): TensorMetrics {
  if (x instanceof Float32Array && y instanceof Float32Array) return compareFloat32(x, y);
  return compareTensorsScalar(x, y);
}
