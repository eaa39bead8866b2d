#!/usr/bin/env node
// `npm test`: typecheck, lint, unit and worker tests, build, then the
// end-to-end tests in Chromium against `qtune serve`. Every step runs even
// when an earlier one failed, so one run shows everything that is wrong.
// Ends with one line "N passed, N failed[, N skipped]" for CI.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';

const steps = [
  { name: 'typecheck', cmd: 'npm', args: ['run', '--silent', 'typecheck'] },
  { name: 'lint', cmd: 'npm', args: ['run', '--silent', 'lint'] },
  { name: 'unit', cmd: 'npx', args: ['vitest', 'run'], report: 'test-results/vitest.json' },
  { name: 'build', cmd: 'npm', args: ['run', '--silent', 'build'] },
  { name: 'e2e', cmd: 'npx', args: ['playwright', 'test'], report: 'test-results/playwright.json', needs: 'build' },
];

let passed = 0;
let failed = 0;
let skipped = 0;
const failedSteps = [];
const ok = new Set();

for (const step of steps) {
  if (step.needs && !ok.has(step.needs)) {
    console.log(`\n=== ${step.name}: not run, because ${step.needs} failed`);
    failed++;
    failedSteps.push(step.name);
    continue;
  }
  if (step.report) rmSync(step.report, { force: true });
  console.log(`\n=== ${step.name}: ${step.cmd} ${step.args.join(' ')}`);
  const r = spawnSync(step.cmd, step.args, { stdio: 'inherit', env: { ...process.env, FORCE_COLOR: '0' } });
  const stepOk = r.status === 0;
  if (stepOk) ok.add(step.name);
  if (step.report) {
    const counts = readCounts(step.report);
    if (counts) {
      passed += counts.passed;
      failed += counts.failed;
      skipped += counts.skipped;
      console.log(`=== ${step.name}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
    }
    if (!stepOk && (!counts || counts.failed === 0)) {
      failed++; // the runner itself failed (no report, or an error outside the tests)
    }
  } else if (stepOk) {
    passed++;
  } else {
    failed++;
  }
  if (!stepOk) failedSteps.push(step.name);
}

function readCounts(file) {
  if (!existsSync(file)) return null;
  const json = JSON.parse(readFileSync(file, 'utf8'));
  if ('numPassedTests' in json) {
    return { passed: json.numPassedTests, failed: json.numFailedTests, skipped: json.numPendingTests + (json.numTodoTests ?? 0) };
  }
  const s = json.stats ?? {};
  return { passed: (s.expected ?? 0) + (s.flaky ?? 0), failed: s.unexpected ?? 0, skipped: s.skipped ?? 0 };
}

if (failedSteps.length) console.log(`\nfailed steps: ${failedSteps.join(', ')}`);
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || failedSteps.length > 0 ? 1 : 0);
