// If/Loop/Scan bodies drawn in place of their node. The engine lists each body
// (its nodes and inner edges, what it reads from outside and what it gives
// back); expanding a node replaces it by its bodies' nodes and wires them to
// the nodes around it: a body input to whatever produces the owner's input at
// that position, an outer read to that tensor's producer, and each consumer
// of the owner's output k to the body node producing it (both branches of an If).
import type { DisplayBody, DisplayEdge, DisplayGraph, DisplayNode } from '../../shared/graph';

/** The bodies a node holds (none for an ordinary node). */
export function bodiesOf(graph: DisplayGraph, id: string): DisplayBody[] {
  return (graph.bodies ?? []).filter((b) => b.owner === id);
}

/** The body a node id sits in, when it is a body node. */
export function bodyHolding(graph: DisplayGraph, id: string): DisplayBody | undefined {
  return (graph.bodies ?? []).find((b) => b.nodes.some((n) => n.id === id));
}

/** `graph` with every node in `expanded` (that holds bodies and is drawn) replaced by its bodies; nested ones too. */
export function expandBodies(graph: DisplayGraph, expanded: ReadonlySet<string>): DisplayGraph {
  if (!graph.bodies?.length || expanded.size === 0) return graph;
  let nodes: DisplayNode[] = [...graph.nodes];
  let edges: DisplayEdge[] = [...graph.edges];
  for (;;) {
    const owner = nodes.find((n) => expanded.has(n.id) && bodiesOf(graph, n.id).length > 0);
    if (!owner) break;
    const into = edges.filter((e) => e.to === owner.id);
    const outOf = edges.filter((e) => e.from === owner.id);
    nodes = nodes.filter((n) => n !== owner);
    edges = edges.filter((e) => e.to !== owner.id && e.from !== owner.id);
    const producerOf = (tensor: string): string | undefined =>
      into.find((e) => e.tensor === tensor)?.from ?? (graph.inputs.includes(tensor) ? `input:${tensor}` : edges.find((e) => e.tensor === tensor)?.from);
    for (const b of bodiesOf(graph, owner.id)) {
      nodes.push(...b.nodes);
      edges.push(...b.edges);
      for (const entry of b.entries) {
        const tensor = entry.ownerInput !== undefined ? owner.inputs[entry.ownerInput] : entry.tensor;
        const from = tensor ? producerOf(tensor) : undefined;
        if (from) edges.push({ from, to: entry.to, tensor: tensor! });
      }
      for (const exit of b.exits) {
        const tensor = owner.outputs[exit.ownerOutput];
        for (const e of outOf) if (e.tensor === tensor) edges.push({ ...e, from: exit.from });
      }
    }
  }
  return { ...graph, nodes, edges };
}
