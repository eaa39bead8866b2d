// The wizard in Simplified Chinese: a browser that prefers zh-CN gets the app
// in Chinese with no setting touched; each step's heading and buttons are
// Chinese; screenshots of every step at 1440×900 go to e2e/artifacts/. The
// walk uses a copy of the sample project ("Save as"), so the English walk of
// the sample itself starts fresh. Then the language switch: English chosen in
// the app wins over the browser's language and survives a reload.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { appUrl, sampleDir, shot, WIDE } from './helpers';
import { expectNoSeriousA11yViolations, visibleEnglish, watchProblems } from './page-checks';

/**
 * Terms the Chinese UI keeps in English on purpose: the sample model's ONNX op
 * types, names of formats, algorithms and products, config.json's field names,
 * key names as printed on the keys, and the sample's class names (the user's
 * labels, shown as they are).
 */
const KEPT_IN_ENGLISH = [
  'Conv', 'Gemm', 'Relu', 'BatchNormalization', 'BatchNorm', 'GlobalAveragePool', 'AveragePool', 'Flatten', 'MatMul',
  'ONNX', 'Runtime', 'IFMR', 'JSON', 'SQNR', 'VNNI', 'opset', 'qtune', 'Fashion', 'MNIST', 'mobilenet', 'HTML', 'asymmetric', 'Enter', 'Shift', 'Space', 'Escape',
  ...(JSON.parse(readFileSync(resolve(sampleDir, 'sample.json'), 'utf8')) as { classes: string[] }).classes.flatMap((c) => c.split(/[^A-Za-z]+/)),
];

/** Fails with each English word a user of the Chinese UI would read on the page as it is now. */
async function expectChineseOnly(page: Page): Promise<void> {
  expect.soft(await visibleEnglish(page, 'body', KEPT_IN_ENGLISH)).toEqual([]);
}

test.use({ locale: 'zh-CN', viewport: WIDE, actionTimeout: 30_000 });

test('the wizard in Chinese, step by step, on a copy of the sample project', async ({ page }) => {
  test.setTimeout(600_000);
  const problems = watchProblems(page);
  const content = page.getByTestId('wizard-content');
  const heading = content.getByRole('heading', { level: 2 }).first();

  await page.goto(appUrl);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('将 ONNX 模型量化为 int8');
  await expect(page.locator('html')).toHaveAttribute('lang', 'zh-CN');
  await expect(page.getByTestId('language')).toHaveValue('zh-CN');
  await expect(page.getByTestId('open-sample')).toHaveText('打开示例项目');
  await expect(page.getByTestId('new-create')).toHaveText('创建项目');
  await expect(page.getByTestId('new-missing')).toContainText('还需要：');
  await expect(page.getByTestId('new-model-path')).toHaveAttribute('placeholder', '/路径/model.onnx');
  await expectNoSeriousA11yViolations(page);
  await shot(page, 'zh-CN-step-0-start-page');
  await expectChineseOnly(page);

  await page.getByTestId('open-sample').click();
  await expect(page.getByTestId('project-view')).toBeVisible();
  await page.getByTestId('file-saveas').click();
  const dialog = page.getByTestId('saveas-dialog');
  await expect(dialog).toContainText('将项目另存为');
  const copy = (await page.getByTestId('saveas-path').inputValue()).replace(/-copy\.qtune$/, `-zh-${Date.now()}.qtune`);
  await page.getByTestId('saveas-path').fill(copy);
  await page.getByTestId('saveas-confirm').click();
  await expect(page.getByTestId('project-dir')).toHaveText(copy);

  // 1. project
  await expect(heading).toHaveText('1. 项目');
  await expect(page.getByTestId('tab-wizard')).toHaveText('调优');
  await expect(page.getByTestId('wizard-step-config')).toContainText('初始配置');
  await expect(page.getByTestId('summary-quantizable')).toContainText(/\d+ \/ \d+/);
  await expect(page.getByTestId('step-next')).toHaveText('下一步：初始配置');
  await expect(page.getByTestId('data-preview').getByTestId('sample-thumb').first()).toBeVisible();
  await expectNoSeriousA11yViolations(page);
  await shot(page, 'zh-CN-step-1-project');
  await expectChineseOnly(page);
  await page.getByTestId('step-next').click();

  // 2. initial configuration
  await expect(heading).toHaveText('2. 初始配置');
  await expect(page.getByTestId('config-generate')).toHaveText('根据模型生成');
  await page.getByTestId('config-generate').click();
  await expect(page.getByTestId('config-row').first()).toBeVisible();
  await expect(page.getByTestId('config-status')).toHaveText('有效');
  await expect(page.getByTestId('config-save')).toHaveText('另存为新配置');
  await expect(page.getByTestId('config-note')).toHaveValue('根据模型生成');
  await expectNoSeriousA11yViolations(page);
  await shot(page, 'zh-CN-step-2-config');
  await expectChineseOnly(page);
  await page.getByTestId('config-save').click();

  // 3. quantize and evaluate
  await expect(heading).toHaveText('3. 量化并评估');
  await expect(page.getByTestId('run-start')).toHaveText('量化并评估配置 #1');
  await page.getByTestId('run-start').click();
  await expect(page.locator('[data-testid="run-result"][data-run-id="1"]')).toBeVisible({ timeout: 240_000 });
  await expect(content.getByRole('heading', { level: 3 }).first()).toContainText('运行 #1');
  await expect(page.getByTestId('run-start')).toHaveText('再次运行配置 #1');
  await expect(page.getByTestId('wizard-step-quantize')).toContainText('1 次运行');
  // the changed samples' thumbnails, captioned with the user's class names
  await expect(page.getByTestId('run-flips').getByTestId('sample-thumb').first()).toBeVisible();
  await expectNoSeriousA11yViolations(page);
  await shot(page, 'zh-CN-step-3-quantize');
  await expectChineseOnly(page);

  // 4. skip sensitive layers: the analyzer on a few samples
  await page.getByTestId('wizard-step-skip').click();
  await expect(heading).toHaveText('4. 跳过敏感层');
  await expect(page.getByTestId('analyze-start')).toHaveText('运行分析器');
  await page.getByTestId('analyze-samples').fill('8');
  await page.getByTestId('analyze-start').click();
  await expect(page.getByTestId('analysis-heatmap').getByTestId('heatmap-row').first()).toBeVisible({ timeout: 240_000 });
  await expect(content).toContainText('已比较 8 个样本');
  await expect(page.getByTestId('skip-save')).toHaveText('保存配置并重新运行');
  await expectNoSeriousA11yViolations(page);
  await shot(page, 'zh-CN-step-4-skip');
  await expectChineseOnly(page);

  // 5. tune algorithm parameters
  await page.getByTestId('wizard-step-tune').click();
  await expect(heading).toHaveText('5. 调整算法参数');
  await page.getByTestId('tune-layer').first().click();
  await expect(page.getByTestId('tune-params')).toBeVisible();
  await expect(page.getByTestId('tune-save')).toHaveText('保存配置并重新运行');
  await expect(page.getByTestId('tune-note')).toHaveAttribute('placeholder', '改动说明');
  await expectNoSeriousA11yViolations(page);
  await shot(page, 'zh-CN-step-5-tune');
  await expectChineseOnly(page);

  // 6. finish
  await page.getByTestId('wizard-step-finish').click();
  await expect(heading).toHaveText('6. 完成');
  await expect(page.getByTestId('export-start')).toHaveText('导出');
  await expect(content.getByRole('heading', { name: '尝试记录' })).toBeVisible();
  await expectNoSeriousA11yViolations(page);
  await shot(page, 'zh-CN-step-6-finish');
  await expectChineseOnly(page);

  // the graph, coloured by the analysis: its toolbar, legend and side panel are Chinese too
  await page.getByTestId('tab-graph').click();
  await expect(page.locator('[data-testid="graph-node"][data-kind="op"]').first()).toBeVisible({ timeout: 60_000 });
  await page.locator('[data-testid="graph-node"][data-kind="op"]').first().click();
  await expect(page.getByTestId('node-panel')).toBeVisible();
  await expectNoSeriousA11yViolations(page);
  await shot(page, 'zh-CN-graph');
  await expectChineseOnly(page);

  problems.expectNone();
});

// (no console watch here: each reload aborts the favicon request still in flight)
test('the language switch wins over the browser language and is remembered', async ({ page }) => {
  const h1 = page.getByRole('heading', { level: 1 });
  await page.goto(appUrl);
  await expect(h1).toHaveText('将 ONNX 模型量化为 int8');
  await page.getByTestId('language').selectOption('en');
  await expect(h1).toHaveText('Quantize an ONNX model to int8');
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  await expect(page.getByTestId('open-sample')).toHaveText('Open the sample project');
  // the check the Chinese walk relies on does see English when there is some
  expect(await visibleEnglish(page, 'body', KEPT_IN_ENGLISH)).toContain('Quantize: Quantize an ONNX model to int8');
  await page.reload();
  await expect(h1).toHaveText('Quantize an ONNX model to int8');
  await page.getByTestId('language').selectOption('zh-CN');
  await expect(page.getByTestId('file-new')).toHaveText('新建…');
  await page.reload();
  await expect(h1).toHaveText('将 ONNX 模型量化为 int8');
  // leave the app in English, as the other specs expect
  await page.getByTestId('language').selectOption('en');
  await expect(h1).toHaveText('Quantize an ONNX model to int8');
});
