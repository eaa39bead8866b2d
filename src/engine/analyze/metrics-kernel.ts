// The tensor comparison metrics over float32 data by the WebAssembly kernel of
// metrics-kernel.wat (two values at a time in float64, no branches): the
// element-by-element definition (metrics-scalar.ts) costs more than the
// inferences it analyses on a real-size model. The kernel's memory is fixed
// (one chunk of each side); tensors are copied through it chunk by chunk,
// once per pass (once in all when the tensor fits in one chunk).
import type { TensorMetrics } from '../../shared/analysis-types';
import { WASM_BASE64 } from './metrics-kernel.wasm';
import { compareTensorsScalar } from './metrics-scalar';
import { checkLengths, meanOf, metricsFromSums, reluOf } from './metrics-sums';

interface KernelExports {
  memory: WebAssembly.Memory;
  xPtr: WebAssembly.Global;
  yPtr: WebAssembly.Global;
  chunk: WebAssembly.Global;
  relu(ptr: number, n: number): void;
  pass1(n: number): void;
  pass2(n: number, xMean: number, yMean: number, xMin: number, yMin: number, xInv: number, yInv: number): void;
}

interface Kernel {
  k: KernelExports;
  chunk: number;
  /** the chunk buffers of each side */
  xs: Float32Array;
  ys: Float32Array;
  /** the state: pass 1's 14 and pass 2's 10 lane pairs (see the WAT source) */
  st: Float64Array;
}

let kernel: Kernel | undefined;

/** The kernel's instance, compiled on first use (synchronously: 2 KB of code; one per process or worker thread). */
function instance(): Kernel {
  if (kernel) return kernel;
  const k = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(WASM_BASE64, 'base64'))).exports as unknown as KernelExports;
  const chunk = k.chunk.value as number;
  const buf = k.memory.buffer;
  kernel = {
    k, chunk,
    xs: new Float32Array(buf, k.xPtr.value as number, chunk),
    ys: new Float32Array(buf, k.yPtr.value as number, chunk),
    st: new Float64Array(buf, 0, 52),
  };
  return kernel;
}

// state layout, in f64 lanes (two per quantity): pass 1 from 0, pass 2 from 32
const DOT = 0, XX = 2, YY = 4, DD = 6, SUM_ABS = 8, MAX_ABS = 10, SUM_REL = 12, MAX_REL = 14;
const SX = 16, SY = 18, X_MIN = 20, X_MAX = 22, Y_MIN = 24, Y_MAX = 26;
const VX = 32, VY = 34, P_ = 36, D_ = 38, E_ = 40, A_ = 42, Q_ = 44, CP = 46, CQ = 48, CA = 50;

/** The two lanes of a sum kept with Kahan's compensation c (the sum less c is the closer one). */
const compensated = (st: Float64Array, i: number, c: number) => (st[i] - st[c]) + (st[i + 1] - st[c + 1]);
/** The larger lane, as the definition's "if (v > m) m = v" picks it (a lane never holds NaN). */
const most = (st: Float64Array, i: number) => (st[i + 1] > st[i] ? st[i + 1] : st[i]);
const least = (st: Float64Array, i: number) => (st[i + 1] < st[i] ? st[i + 1] : st[i]);

/** The plain sums of each pass: the kernel sums each chunk from 0, and they are added up here (see below). */
const SUMS1 = [DOT, XX, YY, DD, SUM_ABS, SUM_REL, SX, SY];
const SUMS2 = [VX, VY, D_, E_];
// their totals, in SUMS1's and SUMS2's order (reused: a call allocates nothing but its result)
const s1 = new Float64Array(SUMS1.length), s2 = new Float64Array(SUMS2.length);

/**
 * Adds the chunk sums `at` of the state into `into` and clears them for the next chunk: a sum of a million
 * values straight through loses about 1e-12 of itself to rounding; chunk by chunk, a few times less.
 */
function collect(st: Float64Array, at: readonly number[], into: Float64Array): void {
  for (let j = 0; j < at.length; j++) {
    into[j] += st[at[j]] + st[at[j] + 1];
    st[at[j]] = st[at[j] + 1] = 0;
  }
}

/** Copies values [at, at + len) of x and y into the kernel's chunks. */
function load(kn: Kernel, x: Float32Array, y: Float32Array, at: number, len: number): void {
  kn.xs.set(len === x.length ? x : x.subarray(at, at + len));
  kn.ys.set(len === y.length ? y : y.subarray(at, at + len));
}

/** Which side of a pair is compared through a Relu (a tensor derived from the Relu's input, see derived-tensors.ts). */
export interface ReluSides {
  x?: boolean;
  y?: boolean;
}

/** Copies values [at, at + len) of x and y into the kernel's chunks, through the Relu where a side asks for it. */
function loadSides(kn: Kernel, x: Float32Array, y: Float32Array, at: number, len: number, relu: ReluSides | undefined): void {
  load(kn, x, y, at, len);
  if (relu?.x) kn.k.relu(kn.k.xPtr.value as number, len);
  if (relu?.y) kn.k.relu(kn.k.yPtr.value as number, len);
}

/** All metrics of one float32 x/y pair (both flattened, same length), either side through a Relu on request. */
export function compareFloat32(x: Float32Array, y: Float32Array, relu?: ReluSides): TensorMetrics {
  checkLengths(x, y);
  const kn = instance();
  const { k, chunk, st } = kn;
  const n = x.length;
  st.fill(0);
  st[X_MIN] = st[X_MIN + 1] = st[Y_MIN] = st[Y_MIN + 1] = Infinity;
  st[X_MAX] = st[X_MAX + 1] = st[Y_MAX] = st[Y_MAX + 1] = -Infinity;
  s1.fill(0);
  s2.fill(0);
  for (let at = 0; at < n; at += chunk) {
    const len = Math.min(chunk, n - at);
    loadSides(kn, x, y, at, len, relu);
    k.pass1(len);
    collect(st, SUMS1, s1);
  }
  const sx = s1[6], sy = s1[7];
  // an Infinity or NaN (sums of finite float32 values stay finite): the definition says what each metric is then
  // (NaN here and there, a side of no range, ...), and such a tensor is rare enough to take its time
  if (!Number.isFinite(sx + sy)) return compareTensorsScalar(relu?.x ? reluOf(x) : x, relu?.y ? reluOf(y) : y);
  const xMean = meanOf(sx, n), yMean = meanOf(sy, n);
  const xMin = least(st, X_MIN), yMin = least(st, Y_MIN);
  const xr = most(st, X_MAX) - xMin, yr = most(st, Y_MAX) - yMin;
  for (let at = 0; at < n; at += chunk) {
    const len = Math.min(chunk, n - at);
    if (n > chunk) loadSides(kn, x, y, at, len, relu); // a tensor of one chunk is still there
    k.pass2(len, xMean, yMean, xMin, yMin, xr > 0 ? 1 / xr : 0, yr > 0 ? 1 / yr : 0);
    collect(st, SUMS2, s2);
  }
  return metricsFromSums({
    n, dot: s1[0], xx: s1[1], yy: s1[2], dd: s1[3], sumAbs: s1[4], maxAbs: most(st, MAX_ABS), sumRel: s1[5],
    maxRel: most(st, MAX_REL), xMean, yMean, vx: s2[0], vy: s2[1],
    P: compensated(st, P_, CP), Q: compensated(st, Q_, CQ), D: s2[2], E: s2[3], A: compensated(st, A_, CA),
  });
}
