// The graph view in Chromium, as a user meets it: the 10,000-node synthetic
// graph is opened in the real app (`qtune serve` in this process, the layout in
// the page's web worker), then dragged around while requestAnimationFrame
// records frame times. The baseline, in the same browser, is the LeNet
// fixture's 12-node graph opened and panned the same way.
import { chromium, type Page } from '@playwright/test';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createBackend } from '../src/backend/backend';
import { findAppPaths } from '../src/backend/app-paths';
import { createMemorySettings } from '../src/backend/settings-store';
import { forkLauncher } from '../src/backend/worker-launcher';
import { makeSyntheticModel, saveModel } from '../src/engine/onnx/index';
import { startServer } from '../src/server/serve';

async function openGraph(page: Page, url: string, model: string): Promise<number> {
  await page.goto(url);
  await page.getByTestId('model-path').fill(model);
  const t0 = Date.now();
  await page.getByTestId('model-graph').click();
  await page.getByTestId('model-graph-view').waitFor({ timeout: 180_000 });
  await page.getByTestId('graph-loading').waitFor({ state: 'detached', timeout: 180_000 });
  await page.getByTestId('graph-svg').waitFor();
  return Date.now() - t0;
}

async function panFrames(page: Page, ms = 2000): Promise<{ mean: number; p95: number; frames: number }> {
  const box = (await page.getByTestId('graph-svg').boundingBox())!;
  // A string, not a function: tsx would wrap a function's inner names in a
  // helper the page does not have.
  await page.evaluate(`(() => {
    window.__frames = [];
    window.__rec = true;
    let last = performance.now();
    const tick = (t) => {
      window.__frames.push(t - last);
      last = t;
      if (window.__rec) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  })()`);
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  const start = Date.now();
  for (let i = 0; Date.now() - start < ms; i++) {
    const a = (i / 30) * Math.PI * 2;
    await page.mouse.move(cx + Math.cos(a) * 200, cy + Math.sin(a) * 120, { steps: 2 });
  }
  await page.mouse.up();
  const frames = (await page.evaluate('(() => { window.__rec = false; return window.__frames.slice(1); })()')) as number[];
  const sorted = [...frames].sort((a, b) => a - b);
  return { mean: frames.reduce((s, v) => s + v, 0) / frames.length, p95: sorted[Math.floor(sorted.length * 0.95)], frames: frames.length };
}

export default async function (): Promise<void> {
  const paths = findAppPaths();
  if (!existsSync(join(paths.rendererDir, 'index.html'))) {
    console.log('graph-pan: the renderer is not built; run "npm run build" first');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'qtune-bench-graph-'));
  const big = join(dir, 'synthetic-10000.onnx');
  saveModel(makeSyntheticModel(10000), big);
  const small = resolve('test/fixtures/models/lenet_mnist.onnx');
  const backend = createBackend({ host: 'browser', launcher: forkLauncher(), settings: createMemorySettings(), version: paths.version, sampleDir: paths.sampleDir, projectsDir: dir, homeDir: dir });
  const server = await startServer({ backend, rendererDir: paths.rendererDir });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    const smallOpen = await openGraph(page, server.url, small);
    const smallPan = await panFrames(page);
    const bigOpen = await openGraph(page, server.url, big);
    const layoutMs = Number(await page.getByTestId('graph-view').getAttribute('data-layout-ms'));
    const bigPan = await panFrames(page);
    console.log(`10,000-node graph: open to first frame ${bigOpen} ms (layout in the worker ${Math.round(layoutMs)} ms); ${(bigOpen / smallOpen).toFixed(1)}× the 12-node LeNet graph (${smallOpen} ms)`);
    console.log(`panning: mean frame ${bigPan.mean.toFixed(1)} ms, p95 ${bigPan.p95.toFixed(1)} ms over ${bigPan.frames} frames; ${(bigPan.mean / smallPan.mean).toFixed(2)}× LeNet's mean frame (${smallPan.mean.toFixed(1)} ms)`);
  } finally {
    await browser.close();
    await server.close();
    backend.dispose();
  }
}
