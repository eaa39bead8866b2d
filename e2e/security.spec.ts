import { expect, test } from '@playwright/test';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import WebSocket from 'ws';
import { E2E_PORT, E2E_TOKEN } from '../playwright.config';
import { appUrl, lenetProject } from './helpers';

const base = `http://127.0.0.1:${E2E_PORT}`;

test('a page request without the token is refused', async ({ request }) => {
  const res = await request.get(`${base}/`);
  expect(res.status()).toBe(401);
  const wrong = await request.get(`${base}/?token=not-the-token`);
  expect(wrong.status()).toBe(401);
});

test('a request from a foreign Origin is refused even with the token', async ({ request }) => {
  const res = await request.get(`${base}/?token=${E2E_TOKEN}`, { headers: { origin: 'http://evil.example' } });
  expect(res.status()).toBe(403);
});

function tryConnect(url: string, origin?: string): Promise<'open' | 'refused'> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, origin ? { origin } : {});
    ws.on('open', () => {
      ws.close();
      resolve('open');
    });
    ws.on('error', () => resolve('refused'));
    ws.on('unexpected-response', () => resolve('refused'));
  });
}

test('the API socket needs the token and a same-origin page', async () => {
  expect(await tryConnect(`ws://127.0.0.1:${E2E_PORT}/rpc`)).toBe('refused');
  expect(await tryConnect(`ws://127.0.0.1:${E2E_PORT}/rpc?token=${E2E_TOKEN}`, 'http://evil.example')).toBe('refused');
  expect(await tryConnect(`ws://127.0.0.1:${E2E_PORT}/rpc?token=${E2E_TOKEN}`, base)).toBe('open');
});

/** Another web server on this machine, on another port: it records what the browser sends it. */
async function hostileServer(page: string): Promise<{ server: Server; port: number; seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(200, { 'content-type': 'text/html' }).end(page);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0, seen };
}

test('a hostile page on another local port gets no token and cannot stop the server', async ({ page, context }) => {
  // The user has qtune open …
  await page.goto(appUrl);
  await expect(page.getByTestId('model-path')).toBeVisible();
  expect((await context.cookies()).filter((c) => c.value.includes(E2E_TOKEN))).toEqual([]);
  // … and visits another local site, which probes qtune's port.
  const hostile = await hostileServer(`<!doctype html><title>hostile</title>
<img src="${base}/%E0%A4%A">
<img src="${base}/assets/%E0%A4%A">
<script>
  const ws = new WebSocket('ws://127.0.0.1:${E2E_PORT}/rpc');
  ws.onopen = () => (document.title = 'opened');
  ws.onerror = () => (document.title = 'refused');
</script>`);
  try {
    const other = await context.newPage();
    await other.goto(`http://127.0.0.1:${hostile.port}/`);
    await expect(other).toHaveTitle('refused');
    await other.waitForLoadState('load');
    for (const headers of hostile.seen) expect(headers.cookie ?? '').not.toContain(E2E_TOKEN);
    // qtune is still up and the open page still works.
    await page.getByTestId('model-path').fill(lenetProject.model);
    await page.getByTestId('model-graph').click();
    await expect(page.getByTestId('model-graph-view')).toBeVisible({ timeout: 120_000 });
  } finally {
    hostile.server.close();
  }
});
