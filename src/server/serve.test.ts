// The browser host's server: token, Origin and the RPC round trip over a real socket.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { connect as tcpConnect } from 'node:net';
import { createBackend } from '../backend/backend';
import { createMemorySettings } from '../backend/settings-store';
import { forkLauncher } from '../backend/worker-launcher';
import type { WireMessage } from '../shared/api';
import { startServer, type RunningServer } from './serve';

let server: RunningServer;
const TOKEN = 'secret-token-0123456789';
const rendererDir = mkdtempSync(join(tmpdir(), 'qtune-renderer-'));

beforeAll(async () => {
  mkdirSync(join(rendererDir, 'assets'));
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>qtune</title>');
  writeFileSync(join(rendererDir, 'assets', 'app.js'), 'console.log(1)');
  const backend = createBackend({ host: 'browser', launcher: forkLauncher(), settings: createMemorySettings(), version: '0.0.0-test', sampleDir: '/nowhere', projectsDir: join(rendererDir, 'projects'), homeDir: rendererDir });
  server = await startServer({ backend, rendererDir, token: TOKEN });
});
afterAll(() => server.close());

async function connect(): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/rpc?token=${TOKEN}`);
  await new Promise((r, j) => {
    ws.once('open', r);
    ws.once('error', j);
  });
  return ws;
}

function tryConnect(url: string, options: WebSocket.ClientOptions = {}): Promise<'open' | 'refused'> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, options);
    ws.on('open', () => {
      ws.close();
      resolve('open');
    });
    ws.on('error', () => resolve('refused'));
  });
}

/** Send raw bytes (an HTTP request no client library would send) and read the status code back. */
function rawStatus(port: number, request: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1', () => socket.write(request));
    let text = '';
    socket.on('data', (d) => (text += d.toString()));
    socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0)));
    socket.on('error', reject);
  });
}

/** Wait for the socket to close; the code says why. */
function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => {
    if (ws.readyState === ws.CLOSED) resolve(1006);
    ws.once('close', (code) => resolve(code));
    ws.on('error', () => undefined);
  });
}

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
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=secret-token-0123456789$/);
  });

  it('serves the page only with the token in its URL, and never puts the token in a cookie', async () => {
    const base = `http://127.0.0.1:${server.port}`;
    expect((await fetch(`${base}/`)).status).toBe(401);
    expect((await fetch(`${base}/index.html`)).status).toBe(401);
    const page = await fetch(`${base}/?token=${TOKEN}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    // Cookies are not port-scoped: any other server on 127.0.0.1 would receive one.
    expect(page.headers.get('set-cookie')).toBeNull();
    // The app's own scripts need no token; nothing outside the renderer folder is served.
    expect((await fetch(`${base}/assets/app.js`)).status).toBe(200);
    expect((await fetch(`${base}/../../etc/passwd`)).status).not.toBe(200);
    // A cookie from an older qtune opens nothing.
    expect(await tryConnect(`ws://127.0.0.1:${server.port}/rpc`, { headers: { cookie: `qtune_token=${TOKEN}` } })).toBe('refused');
  });

  it('refuses foreign origins and foreign Host names (DNS rebinding), page and socket alike', async () => {
    const base = `http://127.0.0.1:${server.port}`;
    expect((await fetch(`${base}/?token=${TOKEN}`, { headers: { origin: 'http://127.0.0.1:1' } })).status).toBe(403);
    expect(await rawStatus(server.port, `GET /?token=${TOKEN} HTTP/1.1\r\nHost: attacker.example:${server.port}\r\nConnection: close\r\n\r\n`)).toBe(403);
    expect(await tryConnect(`ws://127.0.0.1:${server.port}/rpc?token=${TOKEN}`, { origin: 'http://localhost:1' })).toBe('refused');
    expect(await tryConnect(`ws://127.0.0.1:${server.port}/rpc?token=${TOKEN}`, { origin: `http://127.0.0.1:${server.port}` })).toBe('open');
  });

  it('answers RPC calls, rejects unknown methods and bad parameters with clear errors', async () => {
    const ws = await connect();
    const info = await rpc(ws, 'app.info', {});
    expect(info).toMatchObject({ ok: true, result: { host: 'browser', version: '0.0.0-test' } });
    expect(await rpc(ws, 'fs.delete', {})).toMatchObject({ ok: false, error: { code: 'rpc_unknown' } });
    expect(await rpc(ws, 'fs.list', { dir: 42 })).toMatchObject({ ok: false, error: { code: 'rpc_invalid' } });
    expect(await rpc(ws, 'project.update', { dir: rendererDir, patch: { wizard: { runId: -1 } } })).toMatchObject({ ok: false, error: { code: 'rpc_invalid' } });
    const listing = await rpc(ws, 'fs.list', { dir: rendererDir, extensions: ['.html'] });
    expect(listing).toMatchObject({ ok: true, result: { entries: [{ name: 'assets', kind: 'dir' }, { name: 'index.html', kind: 'file' }] } });
    ws.close();
  });

  // Each attack below stopped the whole server (and any job it ran) before.
  it('survives a message over the size cap', async () => {
    const ws = await connect();
    const gone = closed(ws);
    ws.send('x'.repeat(17 * 1024 * 1024));
    expect(await gone).toBe(1009);
    await expect(stillServing()).resolves.toBe(true);
  });

  it('survives a text frame that is not UTF-8', async () => {
    const ws = await connect();
    const gone = closed(ws);
    ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect(await gone).toBe(1007);
    await expect(stillServing()).resolves.toBe(true);
  });

  it('survives requests of the wrong shape: null, a bare number, an array, a missing id', async () => {
    for (const text of ['null', '42', '[]', '"x"', '{"method":"app.info"}', '{"id":"1","method":"app.info"}', '{']) {
      const ws = await connect();
      const gone = closed(ws);
      ws.send(text);
      expect(await gone).toBe(1003);
    }
    await expect(stillServing()).resolves.toBe(true);
  });

  it('refuses deeply nested parameters with a clear error instead of overflowing the stack', async () => {
    const ws = await connect();
    const deep = '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000);
    ws.send(`{"id":7,"method":"job.start","params":{"kind":"model.io","params":${deep}}}`);
    const reply = await new Promise<WireMessage>((resolve) => ws.once('message', (raw) => resolve(JSON.parse(String(raw)) as WireMessage)));
    expect(reply).toMatchObject({ kind: 'response', id: 7, ok: false, error: { code: expect.stringMatching(/rpc_invalid/) } });
    const nested = { params: {} as Record<string, unknown> };
    let at = nested.params;
    for (let i = 0; i < 40; i++) at = at.p = {};
    expect(await rpc(ws, 'job.start', { kind: 'model.io', params: nested })).toMatchObject({ ok: false, error: { code: 'rpc_invalid', message: expect.stringContaining('nested') } });
    ws.close();
    await expect(stillServing()).resolves.toBe(true);
  });

  it('answers a malformed escape in a path with 400, and keeps serving', async () => {
    const base = `http://127.0.0.1:${server.port}`;
    expect((await fetch(`${base}/%E0%A4%A?token=${TOKEN}`)).status).toBe(400);
    expect((await fetch(`${base}/assets/%E0%A4%A`)).status).toBe(400);
    expect(await rawStatus(server.port, `GET /%ZZ HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n\r\n`)).toBe(400);
    await expect(stillServing()).resolves.toBe(true);
  });

  it('offers no test-only job to clients', async () => {
    const ws = await connect();
    expect(await rpc(ws, 'job.start', { kind: 'debug.sleep', params: { steps: 1, stepMs: 1, resultBytes: 1 << 30 } })).toMatchObject({ ok: false, error: { code: 'rpc_invalid' } });
    ws.close();
  });

  it('stores only window positions in settings (no other window options)', async () => {
    const ws = await connect();
    expect(await rpc(ws, 'settings.update', { windowBounds: { width: 800, height: 600, kiosk: true } })).toMatchObject({ ok: false, error: { code: 'rpc_invalid' } });
    expect(await rpc(ws, 'settings.update', { windowBounds: { x: 10, y: 20, width: 800, height: 600, maximized: true } })).toMatchObject({ ok: true });
    ws.close();
  });
});

/** A fresh connection still gets answers: the server is up. */
async function stillServing(): Promise<boolean> {
  const ws = await connect();
  const info = await rpc(ws, 'app.info', {});
  ws.close();
  return info.kind === 'response' && info.ok;
}

describe('qtune serve options', () => {
  const backend = () => createBackend({ host: 'browser', launcher: forkLauncher(), settings: createMemorySettings(), version: 't', sampleDir: '/nowhere', projectsDir: rendererDir, homeDir: rendererDir });

  it('refuses a short access token', async () => {
    await expect(startServer({ backend: backend(), rendererDir, token: 'short' })).rejects.toMatchObject({ code: 'token_weak', message: expect.stringContaining('16') });
  });

  it('refuses to listen beyond this machine unless asked, and then warns', async () => {
    await expect(startServer({ backend: backend(), rendererDir, host: '0.0.0.0' })).rejects.toMatchObject({ code: 'host_not_loopback', message: expect.stringContaining('--allow-remote') });
    const remote = await startServer({ backend: backend(), rendererDir, host: '0.0.0.0', allowRemote: true });
    expect(remote.warnings.join(' ')).toContain('plain HTTP');
    await remote.close();
  });
});
