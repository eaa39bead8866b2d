// IFMR search cost against the floor it cannot beat: sorting the same values
// once. Also how far the histogram (approximate) mode lands from the exact scale.
import { DEFAULT_IFMR_PARAMS, buildIfmrHistogram, ifmrSearch, ifmrSearchHistogram } from '../src/engine/quant/ifmr';

function normalData(n: number): Float32Array {
  let seed = 12345;
  const next = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return (seed + 0.5) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
  return out;
}

function time(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

export default async function (): Promise<void> {
  const n = 10_000_000;
  const data = normalData(n);
  for (const asymmetric of [false, true]) {
    const params = { ...DEFAULT_IFMR_PARAMS, asymmetric };
    const sortMs = time(() => data.slice().sort());
    let exact = ifmrSearch(data.subarray(0, 1000), params);
    const ifmrMs = time(() => {
      exact = ifmrSearch(data, params);
    });
    let approx = exact;
    const histMs = time(() => {
      approx = ifmrSearchHistogram(buildIfmrHistogram(data), params);
    });
    const mode = asymmetric ? 'asymmetric' : 'symmetric';
    console.log(`ifmr ${mode}, ${n} normal values: exact search / one sort = ${(ifmrMs / sortMs).toFixed(2)} (target <= ~2)`);
    console.log(`ifmr ${mode}: histogram search / one sort = ${(histMs / sortMs).toFixed(2)}`);
    console.log(
      `ifmr ${mode}: histogram scale vs exact = ${((approx.scale / exact.scale - 1) * 100).toFixed(4)}% (index ${approx.bestIndex} vs ${exact.bestIndex}; limit 0.5%)`,
    );
  }
}
