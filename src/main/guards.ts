// Decisions the Electron main process makes about what the window asks for,
// kept free of Electron so they can be tested on their own: which links may
// open in the user's browser, and which frames may call the backend.

import { pathToFileURL } from 'node:url';

/** Sites a link in the app may open in the user's browser (https only). */
export const EXTERNAL_HOSTS: readonly string[] = ['github.com', 'onnx.ai', 'onnxruntime.ai', 'netron.app'];

export function externalUrlAllowed(raw: string): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:' || url.username || url.password || url.port) return false;
  return EXTERNAL_HOSTS.some((h) => url.hostname === h || url.hostname.endsWith(`.${h}`));
}

/**
 * Whether a frame is qtune's own page: the main frame showing the built
 * renderer (file://…/renderer/index.html) or, in development, the dev server.
 */
export function trustedSender(frame: { url: string; parent: unknown } | null | undefined, rendererIndex: string, devUrl?: string): boolean {
  if (!frame || frame.parent) return false;
  let url: URL;
  try {
    url = new URL(frame.url);
  } catch {
    return false;
  }
  if (url.protocol === 'file:') return url.pathname === pathToFileURL(rendererIndex).pathname;
  if (devUrl) return url.origin === new URL(devUrl).origin;
  return false;
}
