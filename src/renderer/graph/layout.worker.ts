// Runs layoutGraph off the UI thread: a 10,000-node model takes seconds to lay out.
// Protocol: { id, graph } in; { id, layout } or { id, error } out.
import type { DisplayGraph } from '../../shared/graph';
import { layoutGraph, type GraphLayout } from './layout';

export interface LayoutRequest {
  id: number;
  graph: DisplayGraph;
}
export type LayoutReply = { id: number; layout: GraphLayout; ms: number } | { id: number; error: string };

self.onmessage = (ev: MessageEvent<LayoutRequest>) => {
  const { id, graph } = ev.data;
  const t0 = performance.now();
  try {
    const layout = layoutGraph(graph);
    (self as unknown as Worker).postMessage({ id, layout, ms: performance.now() - t0 } satisfies LayoutReply);
  } catch (err) {
    (self as unknown as Worker).postMessage({ id, error: err instanceof Error ? err.message : String(err) } satisfies LayoutReply);
  }
};
