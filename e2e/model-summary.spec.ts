import { expect, test } from '@playwright/test';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appUrl, clsModel } from './helpers';

test('a model path typed in the page shows its inputs and outputs', async ({ page }) => {
  await page.goto(appUrl);
  await expect(page.getByTestId('host')).toContainText('browser');
  await page.getByTestId('model-path').fill(clsModel);
  await page.getByTestId('model-load').click();
  const inputs = page.getByTestId('model-inputs');
  await expect(inputs).toContainText('x');
  await expect(inputs).toContainText('float32');
  await expect(page.getByTestId('model-outputs')).toContainText('softmax_0.tmp_0');
});

test('the file browser lists folders and .onnx files on the server', async ({ page }) => {
  await page.goto(appUrl);
  await page.getByTestId('model-browse').click();
  const browser = page.getByTestId('model-browser');
  await expect(browser).toBeVisible();
  // The server runs in the repository root: node_modules is a folder there.
  await browser.getByRole('button', { name: /node_modules/ }).click();
  await browser.getByRole('button', { name: /@gutenye/ }).click();
  await browser.getByRole('button', { name: /ocr-models/ }).click();
  await browser.getByRole('button', { name: /assets/ }).click();
  await browser.getByRole('button', { name: 'ch_ppocr_mobile_v2.0_cls_infer.onnx' }).click();
  await expect(page.getByTestId('model-path')).toHaveValue(clsModel);
  await page.getByTestId('model-load').click();
  await expect(page.getByTestId('model-outputs')).toContainText('softmax_0.tmp_0');
});

test('a file that is not an ONNX model gives a clear error naming it', async ({ page }) => {
  const bad = join(tmpdir(), `qtune-e2e-not-a-model-${process.pid}.onnx`);
  writeFileSync(bad, 'this is not a protobuf');
  await page.goto(appUrl);
  await page.getByTestId('model-path').fill(bad);
  await page.getByTestId('model-load').click();
  await expect(page.getByTestId('model-error')).toContainText(bad);
  await expect(page.getByTestId('model-error')).toContainText('not a valid ONNX model');
  // The app keeps working afterwards.
  await page.getByTestId('model-path').fill(clsModel);
  await page.getByTestId('model-load').click();
  await expect(page.getByTestId('model-inputs')).toContainText('float32');
});
