// Exposes exactly window.qtune (QtuneApi) to the sandboxed renderer. The
// renderer gets no ipcRenderer, no Node, only these functions.

import { contextBridge, ipcRenderer } from 'electron';
import type { PickFileOptions, QtuneApi, QtuneEvent, RpcMethod, WireResponse } from '../shared/api';

const api: QtuneApi = {
  host: 'electron',
  async call(method: RpcMethod, params: unknown) {
    const res = (await ipcRenderer.invoke('qtune:call', method, params)) as WireResponse;
    if (res.ok) return res.result as never;
    // Errors cross the bridge as plain data; rebuild a throwable with the same fields.
    throw Object.assign(new Error(res.error.message), { name: 'RpcError', error: res.error });
  },
  onEvent(listener: (e: QtuneEvent) => void) {
    const handler = (_e: unknown, event: QtuneEvent) => listener(event);
    ipcRenderer.on('qtune:event', handler);
    return () => ipcRenderer.off('qtune:event', handler);
  },
  pickFile(options: PickFileOptions) {
    return ipcRenderer.invoke('qtune:pick-file', options) as Promise<string | null>;
  },
};

contextBridge.exposeInMainWorld('qtune', api);
