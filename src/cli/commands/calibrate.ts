import { basename, dirname } from 'node:path';
import type { Command } from 'commander';
import type { DataForm } from '../../engine/data/for-model';
import { parseExportTarget } from '../../engine/quant/qdq-export';
import { outputFiles, quantizeModel } from '../../engine/quant/quantize';
import { QtuneError } from '../../shared/errors';
import type { QuantizeProgress } from '../../shared/quant-types';
import { isEngineChild, runInEngineChild } from '../engine-child';
import { addDataOptions, shortFormFromFlags, type DataFlags } from '../data-options';
import { fail, printJson, progressPrinter } from '../output';

interface CalibrateFlags extends Omit<DataFlags, 'data'> {
  model: string;
  config?: string;
  data?: string;
  savePath: string;
  batchSize?: string;
  json?: boolean;
  // AMCT spellings (--input_shape and --data_types are shared data flags)
  data_dir?: string;
  batch_num?: string;
  target?: string;
  weights?: string;
}

/** A multi-line error (a config with several problems) as one line, since the CLI prints errors on one line. */
export function oneLine(err: unknown): unknown {
  if (!(err instanceof QtuneError) || !err.message.includes('\n')) return err;
  return new QtuneError(err.code, err.message.replace(/:?\n\s*/g, (m) => (m.startsWith(':') ? ': ' : '; ')).trim(), err.details);
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new QtuneError('cli_invalid', `--${flag} wants a positive integer, got "${v}"`);
  return n;
}

function dataSpec(flags: CalibrateFlags): { spec: DataForm; batchFromShape?: number } {
  if (flags.data && flags.data_dir) throw new QtuneError('cli_invalid', 'give the calibration data once: --data or --data_dir, not both');
  const data = flags.data ?? flags.data_dir;
  if (!data) throw new QtuneError('cli_invalid', 'no calibration data: give --data <.npy | manifest.json | image folder> (or AMCT\'s --data_dir with --input_shape)');
  const spec: DataForm = { ...shortFormFromFlags({ ...flags, data }), skipBadImages: flags.skipBadImages };
  return { spec, batchFromShape: spec.inputShape?.[0] };
}

function stageLabel(p: QuantizeProgress): string {
  if (p.stage === 'calibrate' && (p.passes ?? 1) > 1) return `calibrate (pass ${p.pass}/${p.passes})`;
  return p.stage;
}

export function registerCalibrate(program: Command): void {
  const cmd = program
    .command('calibrate')
    .description('quantize a model: BN fusion, IFMR calibration on your data, int8 QDQ export (+ record, config, stats)')
    .requiredOption('--model <model.onnx>', 'the float model')
    .option('--config <config.json>', 'quantization config (default: every quantizable layer, default settings)')
    .requiredOption('--save-path <dir/name>', 'output prefix: writes dir/name_quant_model.onnx, _fused_float.onnx, _record.txt, _config.json, _stats.json')
    .option('--batch-size <n>', 'samples per calibration batch (default 32, or the first dim of --input_shape)')
    .option('--target <runtime>', 'layout of the int8 model: ort-cpu (default: runs as onnxruntime integer kernels; uint8 activations) or generic-qdq (one int8 Q/DQ before each layer)')
    .option('--weights <type>', 'ort-cpu weight storage: auto (default: int8 where this CPU multiplies uint8 x int8 exactly, else uint8), int8 (fastest on x86) or uint8 (exact everywhere); same values')
    .option('--json', 'print the result as JSON');
  // --data or AMCT's --data_dir: either names the calibration data.
  addDataOptions(cmd, 'calibration data', { dataRequired: false, labels: false })
    .option('--data_dir <dir>', 'AMCT: folder of .bin files, one batch each, taken in name order (the same as --data)')
    .option('--batch_num <n>', 'AMCT: calibration batches (overrides batch_num in the config)')
    .action(async (flags: CalibrateFlags) => {
      if (!isEngineChild()) {
        // Calibration blocks the event loop for long stretches; a child does the work so Ctrl+C stops it at once.
        const outDir = dirname(flags.savePath);
        const name = basename(flags.savePath);
        return void (await runInEngineChild({ dir: outDir, files: Object.values(outputFiles(outDir, name)), stagingPrefix: `.${name}.partial-` }).catch(fail));
      }
      // Ctrl+C reaches the whole process group: the supervising parent handles it.
      process.on('SIGINT', () => undefined);
      const bar = progressPrinter();
      try {
        const { spec, batchFromShape } = dataSpec(flags);
        const batchSize = flags.batchSize ? positiveInt('batch-size', flags.batchSize) : batchFromShape ?? 32;
        const batchNum = flags.batch_num ? positiveInt('batch_num', flags.batch_num) : undefined;
        const target = parseExportTarget(flags.target);
        const weights = flags.weights ?? 'auto';
        if (!['auto', 'int8', 'uint8'].includes(weights)) throw new QtuneError('cli_invalid', `--weights must be auto, int8 or uint8, got "${weights}"`);
        const name = basename(flags.savePath);
        if (!name || flags.savePath.endsWith('/')) throw new QtuneError('cli_invalid', `--save-path wants dir/name (a file name prefix), got "${flags.savePath}"`);
        let stage = '';
        const result = await quantizeModel({
          modelPath: flags.model,
          config: flags.config,
          dataset: spec,
          outDir: dirname(flags.savePath),
          name,
          batchSize,
          batchNum,
          target,
          weights: weights as 'auto' | 'int8' | 'uint8',
          onProgress: (p) => {
            // load and fuse are one step each; export (the kernel check, one unit per sample) and write count
            // their units, which on a large model take long enough to want a bar
            if (p.stage !== 'calibrate' && p.stage !== 'ifmr' && p.stage !== 'ranges' && !(p.total > 1)) return;
            const label = stageLabel(p);
            if (label !== stage && stage) bar.end();
            stage = label;
            bar.update(label, p.done, p.total);
          },
        });
        bar.end();
        if (flags.json) return printJson(result);
        const enabled = result.layers.filter((l) => l.enabled);
        console.log(`quantized ${enabled.length} of ${result.layers.length} layers on ${result.calibration.samples} samples (${result.calibration.batches} × ${result.calibration.batchSize}) in ${(result.durationMs / 1000).toFixed(1)} s`);
        if (result.fusion.fused.length) console.log(`  fused ${result.fusion.fused.length} Conv+BatchNorm pairs`);
        for (const s of result.fusion.skipped) console.log(`  not fused: ${s.name} (${s.reason})`);
        if (result.calibration.approximateLayers.length) console.log(`  approximate IFMR (histogram) for: ${result.calibration.approximateLayers.join(', ')}`);
        for (const n of result.notes) console.log(`  note: ${n}`);
        for (const f of Object.values(result.files)) console.log(`  wrote ${f}`);
      } catch (err) {
        bar.end();
        fail(oneLine(err));
      }
    });
}
