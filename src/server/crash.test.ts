// kill -9 of `qtune serve` in the middle of a loop of saves: project.json and
// its backup always parse, the newest is never older than the last save the
// client was told about, and reopening leaves no temp files behind.

import { describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import WebSocket from 'ws';
import { createBackend } from '../backend/backend';
import { createProject } from '../backend/project-store';
import { createMemorySettings } from '../backend/settings-store';
import { defaultWorkerEntry, forkLauncher } from '../backend/worker-launcher';
import type { WireMessage } from '../shared/api';
import type { ProjectFile } from '../shared/project';
import { seededRandom } from '../shared/seeded-random';

const TOKEN = 'crash-test-token-0123456789';
const mnist = resolve('test/fixtures/data/mnist');

async function startChild(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [...defaultWorkerEntry().execArgv, resolve('src/server/crash-server.fixture.ts')], {
    env: { ...process.env, QTUNE_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((ok, fail) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += String(d);
      const m = /port (\d+)/.exec(out);
      if (m) ok(Number(m[1]));
    });
    child.once('exit', (code) => fail(new Error(`the server exited (${code}) before listening`)));
  });
  return { child, port };
}

function client(port: number) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/rpc?token=${TOKEN}`);
  const pending = new Map<number, (m: WireMessage) => void>();
  ws.on('message', (raw) => {
    const msg = JSON.parse(String(raw)) as WireMessage;
    if (msg.kind === 'response') pending.get(msg.id)?.(msg);
  });
  ws.on('error', () => undefined);
  let next = 1;
  return {
    opened: new Promise((r) => ws.once('open', r)),
    call(method: string, params: unknown): Promise<WireMessage> {
      const id = next++;
      ws.send(JSON.stringify({ id, method, params }));
      return new Promise((r) => pending.set(id, r));
    },
    close: () => ws.terminate(),
  };
}

describe('kill -9 of qtune serve during saves', () => {
  it('loses no acknowledged save and leaves a project that opens clean', { timeout: 180_000 }, async () => {
    const root = mkdtempSync(join(tmpdir(), 'qtune-kill-serve-'));
    const { dir } = await createProject({ dir: root, name: 'killed', model: resolve('test/fixtures/models/lenet_mnist.onnx'), calibration: join(mnist, 'calib_x.npy'), evaluation: join(mnist, 'eval_x.npy'), labels: join(mnist, 'eval_y.npy') });
    const random = seededRandom(14);
    let lastAck = 0;
    let saves = 0;
    for (let round = 0; round < 3; round++) {
      const { child, port } = await startChild();
      const c = client(port);
      await c.opened;
      expect(await c.call('project.open', { dir })).toMatchObject({ ok: true });
      const killAt = 10 + Math.floor(random() * 80);
      const exited = new Promise((r) => child.once('exit', r));
      for (let i = 1; i <= 100; i++) {
        saves++;
        const points = lastAck + 1;
        // Every tenth save also stores a config (a config file, then project.json).
        const call = i % 10 === 0 ? c.call('project.saveConfig', { dir, config: { n: points }, note: `n${points}` }) : c.call('project.update', { dir, patch: { target: { mode: 'absolute', points } } });
        if (i === killAt) {
          // Kill while this save is on its way: after a random moment of up to 3 ms.
          await new Promise((r) => setTimeout(r, Math.floor(random() * 4)));
          child.kill('SIGKILL');
          break;
        }
        const reply = await call;
        expect(reply).toMatchObject({ ok: true });
        if (i % 10 !== 0) lastAck = points;
      }
      await exited;
      c.close();
      // Both copies parse; the newest holds at least every acknowledged save.
      const now = JSON.parse(readFileSync(join(dir, 'project.json'), 'utf8')) as ProjectFile;
      const backup = JSON.parse(readFileSync(join(dir, 'project.json.bak'), 'utf8')) as ProjectFile;
      expect(backup.schemaVersion).toBe(now.schemaVersion);
      expect(now.target.mode === 'absolute' && now.target.points).toBeGreaterThanOrEqual(lastAck);
      if (now.target.mode === 'absolute' && now.target.points > lastAck) lastAck = now.target.points; // the save in flight landed
    }
    expect(saves).toBeGreaterThan(30);
    // Reopened (taking over the lock of the killed server): no temp files, every listed config readable.
    const backend = createBackend({ host: 'browser', launcher: forkLauncher(), settings: createMemorySettings(), version: 't', sampleDir: '/nowhere', projectsDir: root, homeDir: root });
    const { project } = await backend.call('project.open', { dir });
    const tmpFiles = [...readdirSync(dir), ...readdirSync(join(dir, 'configs'))].filter((n) => n.endsWith('.tmp'));
    expect(tmpFiles).toEqual([]);
    for (const cfg of project.configs) await expect(backend.call('project.readConfig', { dir, configId: cfg.id })).resolves.toBeTruthy();
    expect(project.target).toMatchObject({ points: lastAck });
    backend.dispose();
  });
});
