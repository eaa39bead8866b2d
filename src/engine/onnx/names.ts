// Deterministic layer names. config.json and the UI address layers by node
// name, so every node needs one that is unique and the same on every load:
// an unnamed node becomes `<op_type>_<index>` (index = its position in the node
// list), and a name already taken gets `_1`, `_2`, ... Explicit names are
// reserved first so a made-up name never steals a real one.
import type { NodeProto } from './proto';

/** `base` when it is free, else the first free one of `base_1`, `base_2`, … (the one way qtune makes up a name). */
export function freshName(base: string, taken: (name: string) => boolean): string {
  if (!taken(base)) return base;
  for (let k = 1; ; k++) if (!taken(`${base}_${k}`)) return `${base}_${k}`;
}

/** A source of names that collide with nothing in `used` nor with each other (each one handed out is added to `used`). */
export function nameAllocator(used: Set<string>): (base: string) => string {
  return (base) => {
    const name = freshName(base, (x) => used.has(x));
    used.add(name);
    return name;
  };
}

/** The names nodes would get, in node order, without touching them. */
export function deterministicNodeNames(nodes: readonly NodeProto[]): string[] {
  const reserved = new Set<string>();
  for (const n of nodes) if (n.name) reserved.add(n.name);
  const used = new Set<string>();
  return nodes.map((n, i) => {
    const explicit = !!n.name;
    const base = explicit ? n.name! : `${n.opType ?? 'Node'}_${i}`;
    const name = explicit && !used.has(base) ? base : freshName(base, (x) => used.has(x) || reserved.has(x));
    used.add(name);
    return name;
  });
}

/** Give every node its deterministic name; returns the names that were made up or changed. */
export function assignNodeNames(nodes: NodeProto[]): Set<string> {
  const names = deterministicNodeNames(nodes);
  const changed = new Set<string>();
  nodes.forEach((n, i) => {
    if (n.name !== names[i]) {
      n.name = names[i];
      changed.add(names[i]);
    }
  });
  return changed;
}
