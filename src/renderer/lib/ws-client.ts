// window.qtune for the browser host: the same QtuneApi as the Electron
// preload, carried over a WebSocket back to `qtune serve`.

import { RpcError, type QtuneApi, type QtuneEvent, type RpcMethod, type WireMessage } from '../../shared/api';
import { t } from './i18n/index.svelte';

export function createWebSocketApi(url: string): QtuneApi {
  const listeners = new Set<(e: QtuneEvent) => void>();
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  let nextId = 1;
  let socket: WebSocket | null = null;
  let opening: Promise<WebSocket> | null = null;

  function open(): Promise<WebSocket> {
    if (socket && socket.readyState === WebSocket.OPEN) return Promise.resolve(socket);
    if (opening) return opening;
    opening = new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.onopen = () => {
        socket = ws;
        opening = null;
        resolve(ws);
      };
      ws.onerror = () => {
        opening = null;
        reject(new RpcError({ code: 'disconnected', message: t('ws.unreachable') }));
      };
      ws.onclose = () => {
        socket = null;
        for (const p of pending.values()) p.reject(new RpcError({ code: 'disconnected', message: t('ws.lost') }));
        pending.clear();
      };
      ws.onmessage = (msg) => {
        const data = JSON.parse(String(msg.data)) as WireMessage;
        if (data.kind === 'event') {
          for (const l of listeners) l(data.event);
        } else {
          const p = pending.get(data.id);
          if (!p) return;
          pending.delete(data.id);
          if (data.ok) p.resolve(data.result);
          else p.reject(new RpcError(data.error));
        }
      };
    });
    return opening;
  }

  return {
    host: 'browser',
    async call(method: RpcMethod, params: unknown) {
      const ws = await open();
      const id = nextId++;
      const result = new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
      ws.send(JSON.stringify({ id, method, params }));
      return result as never;
    },
    onEvent(listener) {
      listeners.add(listener);
      void open().catch(() => undefined);
      return () => listeners.delete(listener);
    },
  };
}

/** The socket URL for this page: same host and port, the token from the page URL. */
export function socketUrlFromLocation(loc: Location): string {
  const token = new URLSearchParams(loc.search).get('token') ?? '';
  const proto = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${loc.host}/rpc?token=${encodeURIComponent(token)}`;
}
