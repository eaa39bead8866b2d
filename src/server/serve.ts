// `qtune serve`: the renderer and the backend's API on 127.0.0.1. A random
// token in the printed URL guards both: the page load must carry it (it then
// travels as a same-site cookie for the assets), and the WebSocket must carry
// it too. Requests from a foreign Origin are refused, so another site open in
// the same browser cannot drive the API.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Backend } from '../backend/backend';
import { serializeError } from '../shared/errors';
import type { WireMessage, WireRequest } from '../shared/api';
import { serveStatic } from './static-files';

export interface ServeOptions {
  backend: Backend;
  rendererDir: string;
  port?: number;
  host?: string;
  token?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  server: Server;
  close(): Promise<void>;
}

const COOKIE = 'qtune_token';

function sameToken(a: string | undefined | null, b: string): boolean {
  if (!a) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieToken(req: IncomingMessage): string | undefined {
  const m = /(?:^|;\s*)qtune_token=([^;]+)/.exec(req.headers.cookie ?? '');
  return m?.[1];
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const token = options.token ?? randomBytes(24).toString('hex');
  const host = options.host ?? '127.0.0.1';
  if (!existsSync(join(options.rendererDir, 'index.html'))) {
    throw new Error(`The renderer is not built (${options.rendererDir}/index.html is missing): run "npm run build" first`);
  }
  let allowedOrigins: Set<string> = new Set();

  const originOk = (req: IncomingMessage): boolean => {
    const origin = req.headers.origin;
    return origin === undefined || allowedOrigins.has(origin);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!originOk(req)) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('Forbidden: foreign origin');
      return;
    }
    const fromQuery = url.searchParams.get('token');
    if (sameToken(fromQuery, token)) {
      // The page itself carries the token; its assets get it as a cookie.
      res.setHeader('set-cookie', `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`);
    } else if (!sameToken(cookieToken(req), token)) {
      res.writeHead(401, { 'content-type': 'text/plain' }).end('Unauthorized: open the URL printed by "qtune serve" (it carries the token)');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    void serveStatic(options.rendererDir, url.pathname, res);
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const authorised = sameToken(url.searchParams.get('token'), token) || sameToken(cookieToken(req), token);
    if (url.pathname !== '/rpc' || !authorised || !originOk(req)) {
      socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      socket.destroy();
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
    ws.on('message', async (data) => {
      let req: WireRequest;
      try {
        req = JSON.parse(String(data)) as WireRequest;
      } catch {
        return;
      }
      try {
        const result = await options.backend.callUnchecked(req.method, req.params);
        send({ kind: 'response', id: req.id, ok: true, result });
      } catch (err) {
        send({ kind: 'response', id: req.id, ok: false, error: serializeError(err) });
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  allowedOrigins = new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);
  const url = `http://127.0.0.1:${port}/?token=${token}`;
  return {
    url,
    port,
    token,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
