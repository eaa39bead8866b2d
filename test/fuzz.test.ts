// A seeded fuzz pass over everything qtune reads from disk that someone else
// may have written: project.json, configs, run results, .npy headers, label
// files and ONNX bytes. A few hundred mutations each (same seed, same
// mutations on every machine; each pass also stops early after a time bound so
// a slow machine cannot stall CI). Every mutation must either work or end in a
// clear QtuneError naming the file; none may throw anything else, and nothing
// may be written outside the project folder.

import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { createBackend } from '../src/backend/backend';
import { createMemorySettings } from '../src/backend/settings-store';
import { forkLauncher } from '../src/backend/worker-launcher';
import { parseLabelText } from '../src/engine/data/labels';
import { encodeNpy, parseNpy } from '../src/engine/data/npy';
import { loadModelFromBytes } from '../src/engine/onnx/io';
import { parseQuantConfigFile } from '../src/engine/quant/config';
import { QtuneError } from '../src/shared/errors';
import { seededRandom } from '../src/shared/seeded-random';

const MUTATIONS = 300;
/** Each pass stops early past this many milliseconds (a bound, not an assertion). */
const TIME_BOUND_MS = 20_000;
const lenet = resolve('test/fixtures/models/lenet_mnist.onnx');
const mnist = resolve('test/fixtures/data/mnist');

type Rand = () => number;
const pick = <T>(r: Rand, list: readonly T[]): T => list[Math.floor(r() * list.length)];

/** Values that break assumptions: wrong types, paths out of the folder, huge, negative, deep. */
function hostileValue(r: Rand): unknown {
  return pick(r, [
    null, true, 0, -1, 1.5, 1e308, -0, '', '../../outside', '/etc/hostname', '..', 'a/b', '\u0000', 'x'.repeat(10_000),
    [], [1, 2], {}, { id: 1 }, { path: '../../x' }, [[[[[]]]]], { a: { b: { c: { d: {} } } } }, '001', 9007199254740993,
  ]);
}

/** Replace, delete or add one value somewhere in a JSON document. */
function mutateJson(doc: unknown, r: Rand): unknown {
  const copy = structuredClone(doc);
  const containers: [Record<string, unknown> | unknown[], string | number][] = [];
  const walk = (v: unknown) => {
    if (!v || typeof v !== 'object') return;
    for (const k of Object.keys(v)) {
      containers.push([v as Record<string, unknown>, Array.isArray(v) ? Number(k) : k]);
      walk((v as Record<string, unknown>)[k]);
    }
  };
  walk(copy);
  if (containers.length === 0) return hostileValue(r);
  const [parent, key] = pick(r, containers);
  const op = r();
  if (op < 0.6) (parent as Record<string | number, unknown>)[key] = hostileValue(r);
  else if (op < 0.8) {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key as string];
  } else if (Array.isArray(parent)) parent.push(hostileValue(r));
  else parent[`${String(key)}_${Math.floor(r() * 100)}`] = hostileValue(r);
  return copy;
}

/** Flip, insert, delete or truncate bytes (optionally only within the first `within` bytes). */
function mutateBytes(bytes: Uint8Array, r: Rand, within = bytes.length): Buffer {
  const out = Buffer.from(bytes);
  const at = Math.floor(r() * Math.min(within, out.length));
  const op = r();
  if (op < 0.5) {
    const n = 1 + Math.floor(r() * 4);
    for (let i = 0; i < n; i++) out[Math.min(out.length - 1, at + i)] = Math.floor(r() * 256);
    return out;
  }
  if (op < 0.7) return out.subarray(0, at);
  if (op < 0.85) return Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + Math.floor(r() * 8))]);
  return Buffer.concat([out.subarray(0, at), Buffer.from([Math.floor(r() * 256), Math.floor(r() * 256)]), out.subarray(at)]);
}

/** The mutation must work or fail with a clear QtuneError (one line, naming the file where there is one). */
async function clearOrWorks(what: string, fn: () => unknown, file?: string, oneLine = true): Promise<'ok' | 'error'> {
  try {
    await fn();
    return 'ok';
  } catch (err) {
    if (!(err instanceof QtuneError) && !(err && typeof err === 'object' && 'code' in err && (err as { code: string }).code !== 'internal' && 'message' in err)) {
      throw new Error(`${what}: not a clear error: ${(err as Error)?.stack ?? String(err)}`);
    }
    const message = (err as Error).message;
    if (oneLine) expect(message, what).not.toContain('\n');
    if (file) expect(message.split('\n')[0], what).toContain(file);
    return 'error';
  }
}

/** Every file under `dir` with its size and mtime, to see that nothing outside a project changed. */
function snapshot(dir: string, skip: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const full = join(e.parentPath, e.name);
    if (full === skip || full.startsWith(`${skip}/`)) continue;
    const s = statSync(full, { throwIfNoEntry: false });
    out.set(relative(dir, full), s ? `${s.size}:${s.mtimeMs}` : 'gone');
  }
  return out;
}

function timed<T>(r: Rand, run: (i: number) => Promise<T>) {
  return async () => {
    const started = Date.now();
    let done = 0;
    for (let i = 0; i < MUTATIONS && Date.now() - started < TIME_BOUND_MS; i++) {
      await run(i);
      done++;
    }
    return done;
  };
}

describe('fuzz: project folders', () => {
  const root = mkdtempSync(join(tmpdir(), 'qtune-fuzz-'));
  const backend = createBackend({ host: 'browser', launcher: forkLauncher(), settings: createMemorySettings(), version: 't', sampleDir: '/nowhere', projectsDir: root, homeDir: root });

  it('project.json: every mutation opens or is refused clearly; nothing is written outside the project', { timeout: 120_000 }, async () => {
    const { dir, project } = await backend.call('project.create', { dir: root, name: 'fuzz', model: lenet, calibration: join(mnist, 'calib_x.npy'), evaluation: join(mnist, 'eval_x.npy'), labels: join(mnist, 'eval_y.npy') });
    const good = { ...project, configs: [{ id: 1, createdAt: '', note: 'a' }], runs: [{ id: 1, configId: 1, createdAt: '', status: 'done' }] };
    writeFileSync(join(dir, 'configs', '001.json'), '{}');
    const before = snapshot(root, dir);
    const r = seededRandom(1401);
    const outcomes = { ok: 0, error: 0 };
    const done = await timed(r, async (i) => {
      const text = r() < 0.7 ? JSON.stringify(mutateJson(good, r)) : mutateBytes(Buffer.from(JSON.stringify(good)), r).toString('latin1');
      writeFileSync(join(dir, 'project.json'), text);
      const opened = await clearOrWorks(`project.json mutation ${i}`, () => backend.callUnchecked('project.open', { dir }), dir);
      outcomes[opened]++;
      if (opened === 'ok') {
        // What an opened project then does must stay inside it too.
        await clearOrWorks(`saveConfig after mutation ${i}`, () => backend.callUnchecked('project.saveConfig', { dir, config: { i }, note: 'fuzz' }));
        await clearOrWorks(`readRun after mutation ${i}`, () => backend.callUnchecked('project.readRun', { dir, runId: 1 }));
      }
    })();
    expect(done).toBeGreaterThan(50);
    expect(outcomes.error).toBeGreaterThan(0);
    expect(snapshot(root, dir)).toEqual(before);
  });

  it('run results: every mutation of result.json reads, exports or is refused clearly; nothing outside is exported', { timeout: 120_000 }, async () => {
    const { dir, project } = await backend.call('project.create', { dir: root, name: 'fuzz-run', model: lenet, calibration: join(mnist, 'calib_x.npy'), evaluation: join(mnist, 'eval_x.npy') });
    writeFileSync(join(dir, 'project.json'), JSON.stringify({ ...project, configs: [{ id: 1, createdAt: '', note: '' }], runs: [{ id: 1, configId: 1, createdAt: '', status: 'done' }] }));
    await backend.call('project.open', { dir });
    const run = join(dir, 'runs', '001');
    mkdirSync(run, { recursive: true });
    const artifacts = { quantModel: 'q.onnx', fusedFloatModel: 'f.onnx', record: 'r.txt', config: 'c.json', stats: 's.json' };
    for (const name of Object.values(artifacts)) writeFileSync(join(run, name), '{}');
    const result = { runId: 1, configId: 1, float: { value: 90 }, quant: { value: 89 }, judgement: { meets: true }, flips: [], flipCounts: { total: 0, broke: 0, fixed: 0 }, layers: [], artifacts, durationMs: 1, notes: [] };
    const out = join(root, 'fuzz-export');
    const before = snapshot(root, dir);
    const allowed = new Set([...Object.values(artifacts), 'run.json']);
    const r = seededRandom(1402);
    const done = await timed(r, async (i) => {
      const text = r() < 0.8 ? JSON.stringify(mutateJson(result, r)) : mutateBytes(Buffer.from(JSON.stringify(result)), r).toString('latin1');
      writeFileSync(join(run, 'result.json'), text);
      await clearOrWorks(`result.json mutation ${i}`, () => backend.callUnchecked('project.readRun', { dir, runId: 1 }));
      await clearOrWorks(`export after mutation ${i}`, () => backend.callUnchecked('project.export', { dir, runId: 1, outDir: out }));
    })();
    expect(done).toBeGreaterThan(50);
    const exported = readdirSync(out, { recursive: true }) as string[];
    for (const name of exported) expect(allowed.has(name), name).toBe(true);
    rmSync(out, { recursive: true, force: true });
    expect(snapshot(root, dir)).toEqual(before);
  });

  it('configs: every mutation of a config file parses or is refused clearly', { timeout: 120_000 }, async () => {
    const model = { layers: [{ name: 'conv1', opType: 'Conv' }, { name: 'fc', opType: 'Gemm' }] } as Parameters<typeof parseQuantConfigFile>[1];
    const config = {
      version: 1,
      batch_num: 1,
      activation_offset: true,
      conv1: { quant_enable: true, activation_quant_params: { max_percentile: 0.999999, min_percentile: 0.999999, search_range: [0.7, 1.3], search_step: 0.01 }, weight_quant_params: { channel_wise: true } },
      fc: { quant_enable: false },
    };
    const file = join(root, 'fuzz-config.json');
    const r = seededRandom(1403);
    const done = await timed(r, async (i) => {
      writeFileSync(file, r() < 0.7 ? JSON.stringify(mutateJson(config, r)) : mutateBytes(Buffer.from(JSON.stringify(config, null, 2)), r).toString('latin1'));
      // A config's problems are listed one per line, the first naming the file.
      await clearOrWorks(`config mutation ${i}`, () => parseQuantConfigFile(file, model), file, false);
    })();
    expect(done).toBeGreaterThan(50);
  });
});

describe('fuzz: data and model files', () => {
  it('.npy headers: every mutation parses or is refused clearly', { timeout: 120_000 }, async () => {
    const npy = encodeNpy({ dtype: 'float32', shape: [4, 1, 2, 2], data: new Float32Array(16).fill(0.5) });
    const r = seededRandom(1404);
    const done = await timed(r, async (i) => {
      // Mutate the header (magic, version, length, dict) far more often than the data.
      const bytes = mutateBytes(npy, r, r() < 0.9 ? 128 : npy.length);
      await clearOrWorks(`npy mutation ${i}`, () => parseNpy(bytes, 'fuzz.npy'), 'fuzz.npy');
    })();
    expect(done).toBeGreaterThan(50);
  });

  it('labels: every mutation of a label file parses or is refused clearly', { timeout: 120_000 }, async () => {
    const csv = Buffer.from('file,label\n0000.png,3\n0001.png,7\n0002.png,0\n');
    const plain = Buffer.from('3\n7\n0\n1\n');
    const r = seededRandom(1405);
    const done = await timed(r, async (i) => {
      const text = mutateBytes(r() < 0.5 ? csv : plain, r).toString('latin1');
      await clearOrWorks(`labels mutation ${i}`, () => parseLabelText(text, 'labels.csv'), 'labels.csv');
      const npy = mutateBytes(readFileSync(join(mnist, 'eval_y.npy')).subarray(0, 256), r, 128);
      await clearOrWorks(`labels npy mutation ${i}`, () => parseNpy(npy, 'eval_y.npy'), 'eval_y.npy');
    })();
    expect(done).toBeGreaterThan(50);
  });

  it('ONNX bytes: every mutation loads or is refused clearly', { timeout: 120_000 }, async () => {
    const bytes = readFileSync(lenet);
    const r = seededRandom(1406);
    const done = await timed(r, async (i) => {
      // Most of the file is weights; aim most mutations at the graph structure around them.
      const mutated = mutateBytes(bytes, r, r() < 0.5 ? 4096 : bytes.length);
      await clearOrWorks(`onnx mutation ${i}`, () => loadModelFromBytes(mutated, { path: 'fuzz.onnx', baseDir: tmpdir() }), 'fuzz.onnx');
    })();
    expect(done).toBeGreaterThan(50);
  });
});
