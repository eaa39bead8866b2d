// Asks the layout worker for a layout. Where workers are unavailable (component
// tests under happy-dom) it lays out on the main thread after a tick, so the
// "laying out…" state is still rendered first.
import type { DisplayGraph } from '../../shared/graph';
import { layoutGraph, type GraphLayout } from './layout';
import type { LayoutReply } from './layout.worker';

let worker: Worker | null | undefined;
let nextId = 1;
const pending = new Map<number, { resolve: (l: GraphLayout) => void; reject: (e: Error) => void }>();

function getWorker(): Worker | null {
  if (worker !== undefined) return worker;
  try {
    if (typeof Worker === 'undefined' || typeof navigator === 'undefined' || /HappyDOM/.test(navigator.userAgent)) {
      worker = null;
    } else {
      worker = new Worker(new URL('./layout.worker.ts', import.meta.url), { type: 'module' });
      worker.onmessage = (ev: MessageEvent<LayoutReply>) => {
        const p = pending.get(ev.data.id);
        if (!p) return;
        pending.delete(ev.data.id);
        if ('error' in ev.data) p.reject(new Error(ev.data.error));
        else p.resolve(ev.data.layout);
      };
      worker.onerror = (ev) => {
        // a worker that fails to load fails every waiting request, then we fall back to the main thread
        for (const p of pending.values()) p.reject(new Error(`layout worker failed: ${ev.message}`));
        pending.clear();
        worker?.terminate();
        worker = null;
      };
    }
  } catch {
    worker = null;
  }
  return worker;
}

export function requestLayout(graph: DisplayGraph): Promise<GraphLayout> {
  const w = getWorker();
  if (!w) {
    return new Promise((resolve, reject) =>
      setTimeout(() => {
        try {
          resolve(layoutGraph(graph));
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      }, 0),
    );
  }
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    // $state proxies cannot be structured-cloned; send a plain copy
    w.postMessage({ id, graph: JSON.parse(JSON.stringify(graph)) as DisplayGraph });
  });
}
