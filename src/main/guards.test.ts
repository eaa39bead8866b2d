import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { externalUrlAllowed, trustedSender } from './guards';
import { pickWindowBounds } from '../shared/settings';

describe('Electron guards', () => {
  it('opens only https links to known sites in the browser', () => {
    expect(externalUrlAllowed('https://github.com/microsoft/onnxruntime')).toBe(true);
    expect(externalUrlAllowed('https://onnxruntime.ai/docs/')).toBe(true);
    for (const bad of ['http://github.com/', 'https://evil.example/', 'https://github.com.evil.example/', 'https://user@github.com/', 'https://github.com:8443/', 'file:///etc/passwd', 'javascript:alert(1)', 'not a url', 'http://127.0.0.1:8080/']) {
      expect(externalUrlAllowed(bad), bad).toBe(false);
    }
  });

  it('takes backend calls only from the main frame showing qtune\'s own page', () => {
    const index = resolve('/opt/qtune/out/renderer/index.html');
    const page = pathToFileURL(index).href;
    expect(trustedSender({ url: page, parent: null }, index)).toBe(true);
    expect(trustedSender({ url: `${page}#/graph`, parent: null }, index)).toBe(true);
    expect(trustedSender({ url: page, parent: {} }, index)).toBe(false);
    expect(trustedSender({ url: 'file:///tmp/evil.html', parent: null }, index)).toBe(false);
    expect(trustedSender({ url: 'https://evil.example/', parent: null }, index)).toBe(false);
    expect(trustedSender(null, index)).toBe(false);
    expect(trustedSender({ url: 'http://localhost:5173/', parent: null }, index, 'http://localhost:5173')).toBe(true);
    expect(trustedSender({ url: 'http://localhost:5174/', parent: null }, index, 'http://localhost:5173')).toBe(false);
  });

  it('gives the window only position keys from the settings', () => {
    const b = pickWindowBounds({ width: 900, height: 700, x: 5, y: 6, kiosk: true, webPreferences: {} } as never);
    expect(b).toEqual({ width: 900, height: 700, x: 5, y: 6 });
    expect(pickWindowBounds(undefined)).toEqual({ width: 1280, height: 860 });
  });

  it('the page allows no socket connections of its own (Electron needs none; the browser host is same-origin)', () => {
    const html = readFileSync(resolve('src/renderer/index.html'), 'utf8');
    const csp = /Content-Security-Policy" content="([^"]+)"/.exec(html)![1];
    expect(csp).toMatch(/connect-src 'self';/);
    expect(csp).not.toContain('ws:');
  });
});
