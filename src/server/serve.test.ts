// The browser host's server: token, Origin and the RPC round trip over a real socket.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { createBackend } from '../backend/backend';
import { createMemorySettings } from '../backend/settings-store';
import { forkLauncher } from '../backend/worker-launcher';
import type { WireMessage } from '../shared/api';
import { startServer, type RunningServer } from './serve';

let server: RunningServer;
const rendererDir = mkdtempSync(join(tmpdir(), 'qtune-renderer-'));

beforeAll(async () => {
  mkdirSync(join(rendererDir, 'assets'));
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>qtune</title>');
  writeFileSync(join(rendererDir, 'assets', 'app.js'), 'console.log(1)');
  const backend = createBackend({ host: 'browser', launcher: forkLauncher(), settings: createMemorySettings(), version: '0.0.0-test', sampleDir: '/nowhere', projectsDir: join(rendererDir, 'projects'), homeDir: rendererDir });
  server = await startServer({ backend, rendererDir, token: 'secret-token' });
});
afterAll(() => server.close());

function rpc(ws: WebSocket, method: string, params: unknown): Promise<WireMessage> {
  return new Promise((resolve) => {
    const id = Math.floor(Math.random() * 1e9);
    const onMessage = (raw: WebSocket.RawData) => {
      const msg = JSON.parse(String(raw)) as WireMessage;
      if (msg.kind === 'response' && msg.id === id) {
        ws.off('message', onMessage);
        resolve(msg);
      }
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ id, method, params }));
  });
}

describe('qtune serve', () => {
  it('binds to 127.0.0.1 on a free port and prints a tokened URL', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=secret-token$/);
  });

  it('serves the page with the token, its assets with the cookie, nothing without', async () => {
    const base = `http://127.0.0.1:${server.port}`;
    expect((await fetch(`${base}/`)).status).toBe(401);
    expect((await fetch(`${base}/assets/app.js`)).status).toBe(401);
    const page = await fetch(`${base}/?token=secret-token`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    const cookie = page.headers.get('set-cookie')!.split(';')[0];
    expect((await fetch(`${base}/assets/app.js`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${base}/../../etc/passwd`, { headers: { cookie } })).status).not.toBe(200);
  });

  it('answers RPC calls, rejects unknown methods and bad parameters with clear errors', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/rpc?token=secret-token`);
    await new Promise((r) => ws.once('open', r));
    const info = await rpc(ws, 'app.info', {});
    expect(info).toMatchObject({ ok: true, result: { host: 'browser', version: '0.0.0-test' } });
    expect(await rpc(ws, 'fs.delete', {})).toMatchObject({ ok: false, error: { code: 'rpc_unknown' } });
    expect(await rpc(ws, 'fs.list', { dir: 42 })).toMatchObject({ ok: false, error: { code: 'rpc_invalid' } });
    const listing = await rpc(ws, 'fs.list', { dir: rendererDir, extensions: ['.html'] });
    expect(listing).toMatchObject({ ok: true, result: { entries: [{ name: 'assets', kind: 'dir' }, { name: 'index.html', kind: 'file' }] } });
    ws.close();
  });
});
