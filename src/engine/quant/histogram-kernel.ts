// Memory for fine histograms' moments inside WebAssembly, and the fold over
// them (histogram-kernel.wat): folding every calibration value is the
// streaming calibration's largest cost after the inference, and the compiled
// loop does it about twice as fast as the TypeScript one, to the same bits.
// No runtime imports beyond the generated binary: the folding threads load it.
import { WASM_BASE64 } from './histogram-kernel.wasm';

type FoldFn = (valuesAt: number, n: number, momentsAt: number, bins: number, origin: number, inv: number) => void;

let compiled: WebAssembly.Module | undefined;
const kernelModule = (): WebAssembly.Module => (compiled ??= new WebAssembly.Module(Buffer.from(WASM_BASE64, 'base64')));

const PAGE_BYTES = 65536;
/** Values copied into the memory per call of the kernel (the scratch area at its start). */
const SCRATCH_VALUES = 1 << 16;

/**
 * The moments of the histograms one folder builds (one calibration pass, or
 * one folding thread), in one WebAssembly memory. Regions are handed out
 * zeroed; a freed region (a histogram that moved to a coarser grid) is
 * reused by the next of its size, so the memory holds about the live
 * histograms. The memory's buffer changes when it grows: views are made
 * through `view` and must be made again when `buffer` is another.
 */
export class FoldArena {
  private readonly memory: WebAssembly.Memory;
  private readonly foldFn: FoldFn;
  private end = SCRATCH_VALUES * 4;
  private readonly free = new Map<number, number[]>();

  constructor() {
    this.memory = new WebAssembly.Memory({ initial: Math.ceil(this.end / PAGE_BYTES) });
    this.foldFn = new WebAssembly.Instance(kernelModule(), { env: { memory: this.memory } }).exports.fold as FoldFn;
  }

  get buffer(): ArrayBuffer {
    return this.memory.buffer;
  }

  /** A zeroed region of `doubles` float64 values (its byte offset), or undefined when the memory cannot grow. */
  allocate(doubles: number): number | undefined {
    const reused = this.free.get(doubles)?.pop();
    if (reused !== undefined) {
      this.view(reused, doubles).fill(0);
      return reused;
    }
    const at = this.end;
    const end = at + doubles * 8;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      try {
        this.memory.grow(Math.ceil((end - have) / PAGE_BYTES));
      } catch {
        return undefined; // past what a WebAssembly memory may hold: the caller keeps its moments itself
      }
    }
    this.end = end;
    return at;
  }

  release(at: number, doubles: number): void {
    let list = this.free.get(doubles);
    if (!list) this.free.set(doubles, (list = []));
    list.push(at);
  }

  view(at: number, doubles: number): Float64Array {
    return new Float64Array(this.memory.buffer, at, doubles);
  }

  /**
   * Fold `values` into the bins at `at`: value x adds (1, x, x²) to bin trunc((x − origin) · inv), as
   * MergedHistogram's own loop does; a bin outside [0, bins) is skipped.
   */
  fold(values: Float32Array, at: number, bins: number, origin: number, inv: number): void {
    const scratch = new Float32Array(this.memory.buffer, 0, SCRATCH_VALUES);
    for (let i = 0; i < values.length; i += SCRATCH_VALUES) {
      const chunk = values.subarray(i, i + SCRATCH_VALUES);
      scratch.set(chunk);
      this.foldFn(0, chunk.length, at, bins, origin, inv);
    }
  }
}
