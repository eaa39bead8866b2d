import { Option, type Command } from 'commander';
import { openDataFor } from '../../engine/data/for-model';
import { comparePredictions } from '../../engine/eval/compare';
import { evaluateModel } from '../../engine/eval/evaluate';
import { createSession } from '../../engine/onnx';
import { runtimeParity } from '../../engine/eval/parity';
import { judgeTarget } from '../../engine/eval/target';
import { SIMILARITY_METRICS, similarityIdeal, type EvalResult, type MetricSpec, type SimilarityMetric } from '../../shared/eval-types';
import { QtuneError } from '../../shared/errors';
import { cancelOnInterrupt } from '../cancel';
import { addDataOptions, shortFormFromFlags, type DataFlags } from '../data-options';
import { fail, printJson, progressPrinter } from '../output';
import { targetFromFlags } from '../trial-options';

interface EvaluateFlags extends DataFlags {
  model: string;
  metric: string;
  reference?: string;
  batchSize: string;
  limit?: string;
  toleratedDrop?: string;
  threshold?: string;
  relative?: boolean;
  json?: boolean;
  parity?: boolean;
}

export function metricSpec(metric: string): MetricSpec {
  if (metric === 'top1' || metric === 'top5' || metric === 'classification') return 'classification';
  if (metric === 'fidelity') return 'fidelity';
  if ((SIMILARITY_METRICS as readonly string[]).includes(metric)) return metric as MetricSpec;
  if (metric.startsWith('custom:') && metric.length > 7) return metric as MetricSpec;
  throw new QtuneError('cli_invalid', `--metric must be top1, top5, fidelity, cosine, sqnr, mse or custom:path.js, got "${metric}"`);
}

/** The number a user asked for: top-5 when they said top5, else the headline value. */
function headline(result: EvalResult, metric: string): number {
  if (metric === 'top5' && result.classification?.top5 != null) return result.classification.top5;
  return result.value;
}

export function registerEvaluate(program: Command): void {
  const cmd = program
    .command('evaluate')
    .description('measure a model\'s accuracy on your data (top-1/top-5, fidelity to a float model, or your own metric)')
    .requiredOption('--model <model.onnx>', 'the model to evaluate')
    .addOption(new Option('--metric <metric>', 'top1 | top5 | fidelity | cosine | sqnr | mse (every output against --reference) | custom:path.js').default('top1'))
    .option('--reference <float.onnx>', 'the float model: fidelity compares against it; with labels, both are scored and the drop judged')
    .option('--batch-size <n>', 'samples per inference', '32')
    .option('--limit <n>', 'evaluate only the first n samples')
    .option('--tolerated-drop <points>', 'with --reference: the accuracy drop you accept (default 1 point)')
    .option('--relative', 'the tolerated drop is a percent of the float accuracy, not points')
    .option('--threshold <x>', 'with --metric cosine|sqnr|mse: judge the model against this target (cosine ≥ x, SQNR ≥ x dB, MSE ≤ x)')
    .option('--parity', 'also run the model as a simulation (graph optimisations off) and as the runtime runs it (on), and compare them')
    .option('--json', 'print the full result as JSON');
  addDataOptions(cmd, 'evaluation data');
  cmd.action(async (flags: EvaluateFlags) => {
    const signal = cancelOnInterrupt();
    const bar = progressPrinter();
    try {
      const metric = metricSpec(flags.metric);
      const batchSize = Number.parseInt(flags.batchSize, 10);
      const limit = flags.limit ? Number.parseInt(flags.limit, 10) : undefined;
      if (!(batchSize > 0)) throw new QtuneError('cli_invalid', `--batch-size must be a positive integer, got "${flags.batchSize}"`);
      const similarity = (SIMILARITY_METRICS as readonly string[]).includes(metric);
      const compares = metric === 'fidelity' || similarity;
      if (compares && !flags.reference) throw new QtuneError('cli_invalid', `--metric ${metric} needs --reference <float.onnx>`);
      const session = await createSession(flags.model, { forComparison: false });
      const dataset = await openDataFor(session, { ...shortFormFromFlags(flags), skipBadImages: flags.skipBadImages }, flags.model);
      const run = (label: string, ref?: string) =>
        evaluateModel({
          modelPath: ref ?? flags.model,
          session: ref ? undefined : session,
          dataset,
          batchSize,
          limit,
          metric,
          reference: compares ? { modelPath: flags.reference } : undefined,
          // The user named this module on the command line: that is their choice to run it.
          trusted: true,
          signal,
          onProgress: (p) => bar.update(label, p.done, p.total),
        });
      const result = await run('evaluate');
      bar.end();
      let reference: EvalResult | undefined;
      if (flags.reference && !compares) {
        reference = await run('evaluate reference', flags.reference);
        bar.end();
      }
      const parity = flags.parity
        ? await runtimeParity({ modelPath: flags.model, dataset, batchSize, limit, signal, onProgress: (d, t) => bar.update('parity', d, t) })
        : undefined;
      if (parity) bar.end();
      const target = flags.relative
        ? { mode: 'relative' as const, percent: Number(flags.toleratedDrop ?? 1) }
        : { mode: 'absolute' as const, points: Number(flags.toleratedDrop ?? 1) };
      const similarityTarget = similarity && flags.threshold !== undefined ? targetFromFlags(metric, { ...flags, maxDrop: '1', dropType: 'absolute' }) : undefined;
      const judgement = similarityTarget
        ? judgeTarget(similarityIdeal(metric as SimilarityMetric), result.value, similarityTarget)
        : reference
          ? judgeTarget(headline(reference, flags.metric), headline(result, flags.metric), target)
          : undefined;
      // A custom metric has no per-sample predictions to compare.
      const flips = reference?.perSample && result.perSample ? comparePredictions(reference, result) : undefined;
      if (flags.json) return printJson({ model: flags.model, metric: flags.metric, value: headline(result, flags.metric), result, reference, judgement, flips, ...(parity ? { parity } : {}) });
      const name = flags.metric === 'top5' ? 'top-5' : metric === 'classification' ? 'top-1' : metric === 'fidelity' ? 'top-1 agreement' : similarity ? `mean ${metric} over ${result.similarity!.outputs.length} output(s)` : 'value';
      const unit = metric.startsWith('custom:') || metric === 'cosine' || metric === 'mse' ? '' : metric === 'sqnr' ? ' dB' : '%';
      const digits = metric === 'cosine' ? 6 : metric === 'mse' ? 8 : 2;
      console.log(`${flags.model}: ${name} ${metric === 'mse' ? headline(result, flags.metric).toExponential(4) : headline(result, flags.metric).toFixed(digits)}${unit} on ${result.samples} samples`);
      for (const o of result.similarity?.outputs ?? []) console.log(`  ${o.name}: cosine ${o.cosine.toFixed(6)}, SQNR ${o.sqnrDb.toFixed(2)} dB, MSE ${o.mse.toExponential(4)}`);
      if (result.classification?.top5 != null && flags.metric !== 'top5') console.log(`  top-5 ${result.classification.top5.toFixed(2)}%`);
      if (result.fidelity) console.log(`  output cosine ${result.fidelity.cosine.toFixed(5)}, SQNR ${result.fidelity.sqnrDb.toFixed(1)} dB${(result.fidelity.outputs?.length ?? 0) > 1 ? ` (mean over ${result.fidelity.outputs!.length} outputs)` : ''}`);
      if ((result.fidelity?.outputs?.length ?? 0) > 1) {
        for (const o of result.fidelity!.outputs!) console.log(`  ${o.name}: cosine ${o.cosine.toFixed(6)}, SQNR ${o.sqnrDb.toFixed(2)} dB, MSE ${o.mse.toExponential(4)}, top-1 agreement ${o.top1Agreement!.toFixed(2)}%`);
      }
      if (judgement) console.log(`  ${judgement.message}`);
      if (flips?.length) console.log(`  ${flips.length} samples changed prediction (${flips.filter((f) => f.kind === 'broke').length} now wrong)`);
      if (parity) console.log(`  ${parity.ok ? 'runtime parity' : 'WARNING runtime parity'}: ${parity.summary}`);
      for (const note of result.notes) console.log(`  note: ${note}`);
      if (result.skipped?.length) console.log(`  skipped ${result.skipped.length} unreadable images`);
    } catch (err) {
      bar.end();
      fail(err);
    }
  });
}
