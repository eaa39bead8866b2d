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
