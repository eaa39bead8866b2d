import { expect, test } from '@playwright/test';
import WebSocket from 'ws';
import { E2E_PORT, E2E_TOKEN } from '../playwright.config';

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
