// Counting the 8-bit codes of two runs that differ by more than one step, by
// the WebAssembly kernel of codes-kernel.wat (16 codes an instruction).
import { WASM_BASE64 } from './codes-kernel.wasm';

interface KernelExports {
  memory: WebAssembly.Memory;
  gotPtr: WebAssembly.Global;
  wantPtr: WebAssembly.Global;
  chunk: WebAssembly.Global;
  apart(n: number, signed: number): number;
}

let kernel: { k: KernelExports; got: Uint8Array; want: Uint8Array; chunk: number } | undefined;

function instance() {
  if (kernel) return kernel;
  const k = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(WASM_BASE64, 'base64'))).exports as unknown as KernelExports;
  const chunk = k.chunk.value as number;
  kernel = { k, chunk, got: new Uint8Array(k.memory.buffer, k.gotPtr.value as number, chunk), want: new Uint8Array(k.memory.buffer, k.wantPtr.value as number, chunk) };
  return kernel;
}

/** How many codes of `got` differ from `want` (same length, both uint8 or both int8) by more than one step. */
export function codesApart(got: Uint8Array | Int8Array, want: Uint8Array | Int8Array): number {
  if (got.length !== want.length) throw new RangeError(`cannot compare ${got.length} codes with ${want.length}`);
  const signed = got instanceof Int8Array ? 1 : 0;
  const kn = instance();
  const bytes = (a: Uint8Array | Int8Array) => new Uint8Array(a.buffer, a.byteOffset, a.length);
  const g = bytes(got), w = bytes(want);
  let total = 0;
  for (let at = 0; at < g.length; at += kn.chunk) {
    const len = Math.min(kn.chunk, g.length - at);
    kn.got.set(g.subarray(at, at + len));
    kn.want.set(w.subarray(at, at + len));
    // pad to whole vectors with codes that agree
    const padded = (len + 15) & ~15;
    kn.got.fill(0, len, padded);
    kn.want.fill(0, len, padded);
    total += kn.k.apart(padded, signed);
  }
  return total;
}
