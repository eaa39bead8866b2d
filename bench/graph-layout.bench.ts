// Layout time of a 10,000-node residual chain (Conv → Relu → Add), reported as a
// ratio to a plain topological sort of the same graph in the same process.
import { layoutGraph } from '../src/renderer/graph/layout';
import { residualChainGraph } from '../src/renderer/graph/synthetic-graph';
import type { DisplayGraph } from '../src/shared/graph';

/** Baseline: Kahn's topological sort over the DisplayGraph's edges. */
function topoSort(g: DisplayGraph): string[] {
  const indeg = new Map<string, number>();
  const succ = new Map<string, string[]>();
  for (const e of g.edges) {
    indeg.set(e.to, (indeg.get(e.to) ?? 0) + 1);
    if (!indeg.has(e.from)) indeg.set(e.from, 0);
    let s = succ.get(e.from);
    if (!s) succ.set(e.from, (s = []));
    s.push(e.to);
  }
  const ready = [...indeg].filter(([, d]) => d === 0).map(([id]) => id);
  const order: string[] = [];
  while (ready.length) {
    const v = ready.pop()!;
    order.push(v);
    for (const w of succ.get(v) ?? []) {
      const d = indeg.get(w)! - 1;
      indeg.set(w, d);
      if (d === 0) ready.push(w);
    }
  }
  return order;
}

function time(fn: () => void, reps: number): number {
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) fn();
  return (performance.now() - t0) / reps;
}

export default async function (): Promise<void> {
  for (const n of [1_000, 10_000]) {
    const graph = residualChainGraph(n);
    time(() => topoSort(graph), 3); // warm up
    const base = time(() => topoSort(graph), 20);
    let columns = 0;
    const layout = time(() => {
      columns = layoutGraph(graph).columns;
    }, 1);
    console.log(
      `${n} nodes: layout ${layout.toFixed(0)} ms = ${(layout / base).toFixed(0)}× topological sort (${base.toFixed(2)} ms); ${columns} column(s); ${(layout / n).toFixed(2)} ms/node`,
    );
  }
}
