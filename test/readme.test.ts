// README.md and test/fixtures/README.md as a user reads them: every command of
// every ```sh block runs as written, from the repository root, in order, and
// must succeed; the figures the pages state must be what those commands print;
// every flag the command synopsis names must exist; the manifest example must
// be valid. A page that drifts from qtune fails here.
//
// The commands run in a scratch folder that mirrors the repository root
// (symlinks to its entries), so their outputs (example/) stay out of the checkout.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateDatasetDescription } from '../src/engine/data/manifest';

const ROOT = process.cwd();
const PAGES = ['README.md', 'test/fixtures/README.md'];

/**
 * Commands a test cannot run as written, and why. Each must still appear in
 * a page (so this list cannot go stale); every other command runs.
 */
const NOT_RUN: { prefix: string; why: string }[] = [
  { prefix: 'npm ci', why: 'reinstalls node_modules from the registry' },
  { prefix: 'npm start', why: 'builds and opens the Electron window' },
  { prefix: 'npm test', why: 'the whole test suite, this test included' },
  { prefix: 'npm run serve', why: 'builds the renderer, then serves until stopped (the end-to-end tests run it)' },
  { prefix: '/usr/bin/python3 test/fixtures/make/', why: 'retrains the fixtures offline with torch, writing into the checkout' },
  { prefix: 'cp test/fixtures/', why: 'part of regenerating the fixtures: writes into the checkout' },
  { prefix: 'npx vitest run test/fixtures/fixtures.test.ts', why: 'a test file of this suite' },
];

interface Block {
  page: string;
  lang: string;
  text: string;
}

function blocks(page: string): Block[] {
  const md = readFileSync(join(ROOT, page), 'utf8');
  return [...md.matchAll(/^```(\w*)\n([\s\S]*?)^```/gm)].map((m) => ({ page, lang: m[1], text: m[2] }));
}

/** The command lines of a block: comments stripped, continuation lines joined. */
function commands(text: string): string[] {
  return text
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l && !l.startsWith('#'));
}

interface Ran {
  command: string;
  code: number | null;
  out: string;
}

const ran: Ran[] = [];
let scratch = '';

/** A folder whose entries are links to the repository root's, so "from the repository root" holds. */
function mirrorRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), 'qtune-readme-'));
  for (const e of readdirSync(ROOT)) {
    if (['example', '.git', 'test-results'].includes(e)) continue;
    symlinkSync(join(ROOT, e), join(dir, e));
  }
  mkdirSync(join(dir, 'example'));
  return dir;
}

function outputOf(pattern: RegExp): string {
  const r = ran.find((x) => pattern.test(x.command));
  if (!r) throw new Error(`no command of the READMEs matches ${pattern}`);
  return r.out;
}

/** "float 85.65%, quantized 77.45%" from an `evaluate --reference` run. */
function judged(out: string): { float: number; int8: number } {
  const m = /float ([\d.]+)%, quantized ([\d.]+)%/.exec(out);
  if (!m) throw new Error(`no "float …%, quantized …%" line in:\n${out}`);
  return { float: Number(m[1]), int8: Number(m[2]) };
}

const num = (s: string) => Number(s.replace('−', '-'));

beforeAll(() => {
  scratch = mirrorRoot();
  for (const page of PAGES) {
    for (const b of blocks(page).filter((x) => x.lang === 'sh')) {
      for (const command of commands(b.text)) {
        if (NOT_RUN.some((n) => command.startsWith(n.prefix))) continue;
        const r = spawnSync('bash', ['-c', command], { cwd: scratch, encoding: 'utf8', timeout: 300_000, env: { ...process.env, FORCE_COLOR: '0' } });
        ran.push({ command, code: r.status, out: `${r.stdout}${r.stderr}` });
      }
    }
  }
}, 900_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('README commands', () => {
  it('every command of every sh block runs as written and succeeds', () => {
    expect(ran.length).toBeGreaterThan(15);
    for (const r of ran) expect({ command: r.command, code: r.code, out: r.code === 0 ? '' : r.out }).toEqual({ command: r.command, code: 0, out: '' });
  });

  it('every command not run is still on a page', () => {
    const all = PAGES.flatMap((p) => blocks(p).filter((b) => b.lang === 'sh').flatMap((b) => commands(b.text)));
    for (const n of NOT_RUN) expect(all.some((c) => c.startsWith(n.prefix)), `${n.prefix} (${n.why})`).toBe(true);
  });

  it('README.md: the sample loses 8 points, analyze finds the two layers, skipping them recovers', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const [, float, int8] = /\(([\d.]+)% → ([\d.]+)%\)/.exec(readme)!.map(Number);
    const fixed = Number(/keep them in\s+float and re-run \(([\d.]+)%\)/.exec(readme)![1]);
    // the command section repeats the figures
    const again = /judges the drop \(float ([\d.]+)%, int8 ([\d.]+)%\)[\s\S]*?kept in float the int8 model scores ([\d.]+)%/.exec(readme)!;
    expect(again.slice(1).map(Number)).toEqual([float, int8, fixed]);
    const expected = { int8, fixed };
    expect(judged(outputOf(/^npx qtune evaluate --model example\/sample_quant_model\.onnx /))).toEqual({ float, int8: expected.int8 });
    expect(judged(outputOf(/^npx qtune evaluate --model example\/skip_quant_model\.onnx /))).toEqual({ float, int8: expected.fixed });
    const skip = /--skip-layers (\S+)/.exec(ran.find((r) => r.command.includes('-o example/config_skip.json'))!.command)![1];
    expect(outputOf(/^npx qtune analyze .*--out example\/report$/)).toContain(`recommended (their own error is measured): --skip-layers ${skip}\n`);
  });

  it('README.md: every flag of the command synopsis exists in that command', () => {
    const synopsis = blocks('README.md').find((b) => b.lang === 'text' && b.text.includes('qtune calibrate'))!;
    const help = new Map<string, string>();
    for (const line of commands(synopsis.text)) {
      const cmd = /^qtune (\S+)/.exec(line)?.[1];
      if (!cmd || cmd.startsWith('-')) continue;
      if (!help.has(cmd)) help.set(cmd, spawnSync(process.execPath, ['bin/qtune.js', cmd, '--help'], { cwd: ROOT, encoding: 'utf8' }).stdout);
      for (const flag of line.match(/--[\w-]+|(?<=\s)-o(?=\s)/g) ?? []) expect(help.get(cmd), `qtune ${cmd} ${flag}`).toMatch(new RegExp(`(^|[\\s,])${flag}[\\s,]`, 'm'));
    }
    // the data flags the Data section lists exist on every command that takes --data
    const data = readFileSync(join(ROOT, 'README.md'), 'utf8').split('### Data')[1].split('A manifest')[0];
    for (const cmd of ['calibrate', 'evaluate', 'analyze']) {
      const text = help.get(cmd)!;
      // calibration reads no labels
      for (const flag of new Set(data.match(/--[\w-]+/g))) if (!(cmd === 'calibrate' && flag === '--labels')) expect(text, `qtune ${cmd} ${flag}`).toMatch(new RegExp(`(^|\\s)${flag}[\\s,]`, 'm'));
      for (const flag of ['--input_shape', '--data_types']) expect(text, `qtune ${cmd} ${flag}`).toContain(flag);
    }
  });

  it('README.md: the manifest example is a valid dataset description', () => {
    const json = blocks('README.md').find((b) => b.lang === 'json' && b.text.includes('"inputs"'))!;
    expect(() => validateDatasetDescription(JSON.parse(json.text))).not.toThrow();
  });

  it('README.md: what run and tune say for the two-output model under a similarity target', () => {
    const page = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const claim = /default config keeps a cosine of ([\d.]+) \(meets ([\d.]+)\), but an SQNR of ([\d.]+) dB: `tune` keeps the regression\s+head's last layer, `([^`]+)`, in float and reaches ([\d.]+) dB \((\d+) evaluations\)/.exec(page)!;
    expect(claim).not.toBeNull();
    const run = outputOf(/^npx qtune run --model test\/fixtures\/models\/twohead_mnist\.onnx .*--metric cosine --threshold /);
    expect(run).toContain(`quantized ${claim[1]}; target cosine ≥ ${Number(claim[2]).toFixed(5)} — meets the target`);
    const tuned = outputOf(/^npx qtune tune --model test\/fixtures\/models\/twohead_mnist\.onnx .*--metric sqnr --threshold 40 /);
    expect(tuned).toContain(`trial 1 [start] default config: every quantizable layer in int8: sqnr ${claim[3]} dB misses the target`);
    expect(tuned).toContain(`meets the target with 1 layer in float: ${claim[4]}: int8 sqnr ${claim[5]} dB, trial ${claim[6]}`);
  });

  it('test/fixtures/README.md: the float and int8 top-1 of every model in the table', () => {
    const page = readFileSync(join(ROOT, 'test/fixtures/README.md'), 'utf8');
    const rows = page.split('\n').filter((l) => /^\| `\w+\.onnx` \|/.test(l)).map((l) => l.split('|').map((c) => c.trim()));
    expect(rows.map((r) => r[1])).toEqual(['`lenet_mnist.onnx`', '`mobilenetv2_fmnist.onnx`', '`sensitive_fmnist.onnx`', '`longtail_mnist.onnx`', '`transformer_mnist.onnx`', '`qkv_attention_mnist.onnx`', '`twohead_mnist.onnx`']);
    rows.forEach((r) => {
      const model = r[1].replace(/`/g, '');
      const name = model.split('_')[0];
      // the eval data column names files that exist
      const set = /data\/(\w+)\//.exec(r[2])![1];
      for (const f of r[2].match(/`[^`]+`/g)!.map((x) => x.replace(/`/g, ''))) expect(existsSync(join(ROOT, 'test/fixtures', f.includes('/') ? f : `data/${set}/${f}`)), f).toBe(true);
      const expected = { float: Number(r[3]), int8: Number(r[5]) };
      expect(judged(outputOf(new RegExp(`^npx qtune evaluate --model example/${name}_quant_model\\.onnx `))), model).toEqual(expected);
      // the same calibration as AMCT simulates it (generic-qdq layout, optimisations off)
      const amct = /simulated ([\d.]+)% vs runtime/.exec(outputOf(new RegExp(`^npx qtune evaluate --model example/${name}_amct_quant_model\\.onnx .*--parity`)));
      expect(Number(amct?.[1]), `${model} simulated`).toBe(Number(r[4]));
    });
  });

  it('test/fixtures/README.md: what analyze and skipping find for sensitive_fmnist.onnx', () => {
    const page = readFileSync(join(ROOT, 'test/fixtures/README.md'), 'utf8');
    const claim = /int8 top-1 ([\d.]+)% \(([−-][\d.]+) points\)[\s\S]*?isolated sensitivity ([\d.]+) and ([\d.]+), against ([\d.]+) for every other conv; accumulated\s+cosine ([\d.]+) and ([\d.]+)\); skipping them \(`quant_enable: false`\) gives ([\d.]+)%/.exec(page)!;
    const base = judged(outputOf(/^npx qtune evaluate --model example\/sensitive_quant_model\.onnx /));
    const skipped = judged(outputOf(/^npx qtune evaluate --model example\/sensitive_skip_quant_model\.onnx /));
    expect(base.int8).toBe(Number(claim[1]));
    expect(Number((base.int8 - base.float).toFixed(2))).toBe(num(claim[2]));
    expect(skipped.int8).toBe(Number(claim[8]));
    outputOf(/^npx qtune analyze .*--out example\/sensitive_report$/);
    const report = JSON.parse(readFileSync(join(scratch, 'example/sensitive_report/analysis.json'), 'utf8')) as {
      suggestions: { layer: string }[];
      layers: { name: string; opType: string; accumulatedCosine?: number; isolated?: { sensitivity: number } }[];
    };
    const projections = ['/features/b0/block/project/conv/Conv', '/features/b2/block/project/conv/Conv'];
    expect(report.suggestions.slice(0, 2).map((s) => s.layer)).toEqual(projections);
    const layer = (name: string) => report.layers.find((l) => l.name === name)!;
    expect(projections.map((n) => layer(n).isolated!.sensitivity.toFixed(3))).toEqual([claim[3], claim[4]]);
    expect(projections.map((n) => layer(n).accumulatedCosine!.toFixed(3))).toEqual([claim[6], claim[7]]);
    const others = report.layers.filter((l) => l.opType === 'Conv' && !projections.includes(l.name));
    expect(others.length).toBeGreaterThan(5);
    for (const l of others) expect(l.isolated!.sensitivity.toFixed(3), l.name).toBe(claim[5]);
  });
});
