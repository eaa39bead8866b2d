import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { analyzeModels, reportToJson, writeReports } from '../../engine/analyze';
import { openDataFor } from '../../engine/data/for-model';
import { loadModel } from '../../engine/onnx';
import { readProvenance } from '../../engine/quant/provenance';
import type { AnalysisReport, AnalysisThresholds } from '../../shared/analysis-types';
import { QtuneError } from '../../shared/errors';
import { cancelOnInterrupt } from '../cancel';
import { addDataOptions, shortFormFromFlags, type DataFlags } from '../data-options';
import { fail, progressPrinter } from '../output';

interface AnalyzeFlags extends DataFlags {
  float: string;
  quant: string;
  fused?: string;
  stats?: string;
  samples: string;
  batchSize: string;
  out: string;
  cosine?: string;
  sensitivity?: string;
  fewParams?: string;
  outputSensitivity?: boolean;
  budget?: string;
  top: string;
  json?: boolean;
}

function positive(flag: string, value: string, integer = true): number {
  const n = Number(value);
  if (!(n > 0) || (integer && !Number.isInteger(n))) throw new QtuneError('cli_invalid', `--${flag} must be a positive ${integer ? 'integer' : 'number'}, got "${value}"`);
  return n;
}

function fraction(flag: string, value: string): number {
  const n = Number(value);
  if (!(n > 0 && n < 1)) throw new QtuneError('cli_invalid', `--${flag} must be between 0 and 1, got "${value}"`);
  return n;
}

/** `<name>_fused_float.onnx` / `<name>_stats.json` beside `<name>_quant_model.onnx`, when the run wrote them. */
function sibling(quant: string, suffix: string): string | undefined {
  const m = /^(.*)_quant_model\.onnx$/.exec(quant);
  const path = m ? `${m[1]}${suffix}` : undefined;
  return path && existsSync(path) ? path : undefined;
}

const fmt = (v: number | undefined) => (v === undefined ? '-' : Number.isFinite(v) ? v.toFixed(4) : String(v));

function printSummary(report: AnalysisReport, top: number, files: { json: string; csv: string; html: string }): void {
  for (const o of report.outputs) console.log(`output ${o.name}: cosine ${fmt(o.cosine)}, SQNR ${fmt(o.sqnrDb)} dB (${report.samples} samples)`);
  for (const w of report.warnings) console.log(`warning: ${w.message}`);
  if (report.suggestions.length === 0) console.log('no layer needs to stay in float by these thresholds');
  else {
    const rec = report.suggestions.filter((x) => x.recommended).map((x) => x.layer);
    console.log(`layers to keep in float (quant_enable: false), most harmful first:`);
    if (rec.length) console.log(`recommended (their own error is measured): --skip-layers ${rec.join(',')}`);
  }
  for (const s of report.suggestions.slice(0, top)) {
    const l = report.layers.find((x) => x.name === s.layer);
    const mark = s.recommended ? '  [recommended]' : '';
    console.log(`${String(s.rank).padStart(3)}. ${s.layer} (${s.opType}) score ${s.score.toFixed(2)}  accumulated cos ${fmt(l?.accumulatedCosine)}  isolated ${fmt(l?.isolated?.sensitivity)}${mark}`);
    for (const r of s.reasons) console.log(`       - ${r.text}`);
  }
  if (report.suggestions.length > top) console.log(`     … ${report.suggestions.length - top} more in the report`);
  console.log(`report: ${files.html}\n        ${files.csv}\n        ${files.json}`);
}

export function registerAnalyze(program: Command): void {
  const cmd = program
    .command('analyze')
    .description('compare a float model with its quantized (QDQ) model layer by layer and suggest layers to keep in float')
    .requiredOption('--float <model.onnx>', 'the float model')
    .requiredOption('--quant <name_quant_model.onnx>', 'the quantized QDQ model')
    .option('--fused <name_fused_float.onnx>', 'the BN-fused float model of the run (default: rebuilt from --float as the run fused it)')
    .option('--stats <name_stats.json>', 'activation statistics of the run (found beside --quant when omitted)')
    .option('--samples <n>', 'samples to compare', '32')
    .option('--batch-size <n>', 'samples per inference', '8')
    .requiredOption('--out <dir>', 'folder for analysis.json, analysis.csv and analysis.html')
    .option('--cosine <c>', 'accumulated cosine threshold (default 0.99)')
    .option('--sensitivity <s>', 'isolated sensitivity threshold, 0.5 + 0.5·cos (default 0.995)')
    .option('--few-params <n>', 'layers with fewer parameters count as "few-parameter" (default 1000)')
    .option('--output-sensitivity', 'also measure each layer\'s effect on the model output (slower: two extra models per layer)')
    .option('--budget <seconds>', 'time budget of --output-sensitivity', '120')
    .option('--top <n>', 'suggestions to print', '10')
    .option('--json', 'print the full report as JSON');
  addDataOptions(cmd, 'samples to compare');
  cmd.action(async (flags: AnalyzeFlags) => {
    const signal = cancelOnInterrupt();
    const bar = progressPrinter();
    try {
      const samples = positive('samples', flags.samples);
      const batchSize = positive('batch-size', flags.batchSize);
      const top = positive('top', flags.top);
      const thresholds: Partial<AnalysisThresholds> = {};
      if (flags.cosine) thresholds.accumulatedCosine = fraction('cosine', flags.cosine);
      if (flags.sensitivity) thresholds.isolatedSensitivity = fraction('sensitivity', flags.sensitivity);
      if (flags.fewParams) thresholds.fewParameters = positive('few-params', flags.fewParams);
      const quantModel = loadModel(flags.quant);
      // A model exported by qtune records its float model and fusion: the fused float model is rebuilt from
      // --float (checked against that record), so a stale file beside --quant cannot be picked up by mistake.
      const recorded = readProvenance(quantModel) !== undefined;
      const fusedPath = flags.fused ?? (recorded ? undefined : sibling(flags.quant, '_fused_float.onnx'));
      const statsPath = flags.stats ?? sibling(flags.quant, '_stats.json');
      if (!flags.fused && fusedPath) process.stderr.write(`qtune: comparing against the fused float model ${fusedPath}\n`);
      if (!flags.stats && statsPath) process.stderr.write(`qtune: reading activation statistics from ${statsPath}\n`);
      const dataset = await openDataFor(quantModel, { ...shortFormFromFlags(flags), skipBadImages: flags.skipBadImages });
      const report = await analyzeModels({
        floatModel: flags.float, quantModel, fusedFloatModel: fusedPath, dataset, samples, batchSize, statsPath, thresholds,
        outputSensitivity: flags.outputSensitivity ? { timeBudgetMs: positive('budget', flags.budget ?? '120', false) * 1000 } : false,
        signal,
        onProgress: (p) => bar.update(p.stage, p.done, p.total),
      });
      bar.end();
      const files = await writeReports(report, flags.out);
      // reportToJson keeps NaN / Infinity (plain JSON would turn them into null)
      if (flags.json) return void process.stdout.write(reportToJson(report) + '\n');
      printSummary(report, top, files);
    } catch (err) {
      bar.end();
      fail(err);
    }
  });
}
