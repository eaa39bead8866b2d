// Loading a user's own JavaScript module (a custom metric) the way plain Node
// would: `.mjs` as ES module, `.cjs` as CommonJS, and `.js` by its package's
// "type", or, with no "type", by its syntax (Node's module detection).
//
// Why a loader hook: when qtune runs from source, TypeScript is compiled on
// the fly by a loader (tsx) that decides a `.js` file without a package
// "type" is CommonJS and hands an ES-module file to require(), which fails
// ("Cannot require() ES Module … in a cycle"). The hook below sits in front of
// that loader for the user's module and everything it imports, and leaves the
// format of those `.js` files undecided, so Node's own detection picks it,
// exactly as `node` would. It is registered once, from a data: URL, so it
// needs no file of its own in a build.

import { register } from 'node:module';
import { pathToFileURL } from 'node:url';

/** Query marking the entry module; the hook strips it, so import.meta.url stays the file's own URL. */
const MARK = 'qtune-user-module';

const HOOKS = `
const MARK = ${JSON.stringify(MARK)};
const user = new Set();
export async function resolve(specifier, context, nextResolve) {
  let entry = false;
  if (specifier.startsWith('file:') && specifier.includes(MARK)) {
    const u = new URL(specifier);
    u.searchParams.delete(MARK);
    specifier = u.href;
    entry = true;
  }
  if (!entry && !(context.parentURL && user.has(context.parentURL))) return nextResolve(specifier, context);
  const r = await nextResolve(specifier, context);
  if (!r.url.startsWith('file:')) return r;
  user.add(r.url);
  // '.js' (or no extension): let Node's default load decide from "type" and syntax.
  const path = new URL(r.url).pathname;
  const ambiguous = path.endsWith('.js') || !/\\.[^/]*$/.test(path);
  return { ...r, format: ambiguous ? undefined : r.format, shortCircuit: true };
}
`;

let registered = false;

/** Imports a user's module file (absolute or relative to the working directory). */
export async function importUserModule(path: string): Promise<Record<string, unknown>> {
  if (!registered) {
    register(`data:text/javascript,${encodeURIComponent(HOOKS)}`);
    registered = true;
  }
  const url = pathToFileURL(path);
  url.searchParams.set(MARK, '1');
  return (await import(url.href)) as Record<string, unknown>;
}
