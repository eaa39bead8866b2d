// `qtune serve`: the renderer and the backend's API on 127.0.0.1. A random
// token in the printed URL guards both the page and the API: the page load
// must carry it in its URL, and the page's WebSocket carries it in the
// handshake. The token never travels in a cookie: cookies are not scoped to a
// port, so every other web server on this machine would receive it. The
// page's scripts and styles (the app's own code, the same for everyone) need
// no token. Requests from a foreign Origin or for a foreign Host are refused,
// so another site open in the same browser cannot drive the API. Nothing a
// client sends can stop the server: malformed URLs, oversized or invalid
// frames and malformed requests are answered or dropped, never thrown.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Backend } from '../backend/backend';
import { QtuneError, serializeError } from '../shared/errors';
import type { WireMessage } from '../shared/api';
import { serveStatic } from './static-files';

export interface ServeOptions {
  backend: Backend;
  rendererDir: string;
  port?: number;
  host?: string;
  token?: string;
  /** bind to an address other hosts can reach (plain HTTP: the token can be read on the network) */
  allowRemote?: boolean;
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  server: Server;
  /** what the user must know about how the server runs (e.g. reachable from the network over plain HTTP) */
  warnings: string[];
  close(): Promise<void>;
}

/** A token shorter than this could be guessed by a page probing the port. */
export const MIN_TOKEN_LENGTH = 16;
/** The largest request a client may send (a config of a very large model fits easily). */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

function sameToken(a: string | undefined | null, b: string): boolean {
  if (!a) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/** A token given by the user: long enough, and only characters that survive a URL as they are. */
export function checkToken(token: string): string {
  if (token.length < MIN_TOKEN_LENGTH || !/^[A-Za-z0-9._~-]+$/.test(token)) {
    throw new QtuneError('token_weak', `The access token must be at least ${MIN_TOKEN_LENGTH} characters of A-Z, a-z, 0-9, '.', '_', '~' or '-'`);
  }
  return token;
}

/** A request off the socket: an object with a numeric id and a method name. */
function parseRequest(data: string): { id: number; method: string; params: unknown } | null {
  let req: unknown;
  try {
    req = JSON.parse(data);
  } catch {
    return null;
  }
  if (!req || typeof req !== 'object' || Array.isArray(req)) return null;
  const { id, method, params } = req as Record<string, unknown>;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || typeof method !== 'string') return null;
  return { id, method, params };
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const token = options.token !== undefined ? checkToken(options.token) : randomBytes(24).toString('hex');
  const host = options.host ?? '127.0.0.1';
  const warnings: string[] = [];
  if (!isLoopbackHost(host)) {
    if (!options.allowRemote) {
      throw new QtuneError(
        'host_not_loopback',
        `qtune serve binds to this machine only (127.0.0.1); ${host} would let other machines reach it over plain HTTP. Add --allow-remote if you really mean it (put an HTTPS proxy in front).`,
      );
    }
    warnings.push(`qtune is reachable from other machines at ${host} over plain HTTP: anyone on the network path can read the access token. Prefer 127.0.0.1 with an SSH tunnel, or an HTTPS proxy.`);
    if (host === '0.0.0.0' || host === '::') warnings.push('Bound to every address: the page works only when opened as 127.0.0.1 or localhost; give --host the address other machines use instead.');
  }
  if (!existsSync(join(options.rendererDir, 'index.html'))) {
    throw new Error(`The renderer is not built (${options.rendererDir}/index.html is missing): run "npm run build" first`);
  }
  let allowedOrigins: Set<string> = new Set();
  let allowedHosts: Set<string> = new Set();

  const originOk = (req: IncomingMessage): boolean => {
    const origin = req.headers.origin;
    // A page served under another name (DNS rebinding) is another site, whatever address it resolves to.
    return (origin === undefined || allowedOrigins.has(origin)) && allowedHosts.has(req.headers.host ?? '');
  };

  const server = createServer((req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (!originOk(req)) {
        res.writeHead(403, { 'content-type': 'text/plain' }).end('Forbidden: foreign origin');
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405).end();
        return;
      }
      // The page itself (which starts the app and reads the token) needs the token; its assets do not.
      const isPage = url.pathname === '/' || url.pathname === '/index.html';
      if (isPage && !sameToken(url.searchParams.get('token'), token)) {
        res.writeHead(401, { 'content-type': 'text/plain' }).end('Unauthorized: open the URL printed by "qtune serve" (it carries the token)');
        return;
      }
      serveStatic(options.rendererDir, url.pathname, res).catch(() => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end();
      });
    } catch {
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('Bad request');
    }
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  wss.on('error', () => undefined);
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    let authorised = false;
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      authorised = url.pathname === '/rpc' && sameToken(url.searchParams.get('token'), token) && originOk(req);
    } catch {
      authorised = false;
    }
    if (!authorised) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  wss.on('connection', (ws: WebSocket) => {
    const send = (msg: WireMessage) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
    };
    const unsubscribe = options.backend.onEvent((event) => send({ kind: 'event', event }));
    ws.on('close', unsubscribe);
    // An oversized or invalid frame closes this socket (ws says why in the close code); the server goes on.
    ws.on('error', () => ws.terminate());
    ws.on('message', (data, isBinary) => {
      const req = isBinary ? null : parseRequest(String(data));
      if (!req) {
        ws.close(1003, 'Expected a JSON request {id, method, params}');
        return;
      }
      options.backend
        .callUnchecked(req.method, req.params)
        .then((result) => send({ kind: 'response', id: req.id, ok: true, result }))
        .catch((err: unknown) => send({ kind: 'response', id: req.id, ok: false, error: serializeError(err) }))
        .catch(() => ws.terminate());
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  server.on('error', () => undefined);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const names = ['127.0.0.1', 'localhost', '[::1]'];
  if (!isLoopbackHost(host) && host !== '0.0.0.0' && host !== '::') names.push(isIP(host) === 6 ? `[${host}]` : host);
  allowedOrigins = new Set(names.map((n) => `http://${n}:${port}`));
  allowedHosts = new Set(names.map((n) => `${n}:${port}`));
  const url = `http://127.0.0.1:${port}/?token=${token}`;
  return {
    url,
    port,
    token,
    server,
    warnings,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
