import { renameSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { configInvalidError, createQuantConfig, formatQuantConfig, quantConfigToJson, validateQuantConfig } from '../../engine/quant/config';
import { configModelOf } from '../../engine/quant/quantize';
import { loadModel } from '../../engine/onnx';
import { QtuneError } from '../../shared/errors';
import { oneLine } from './calibrate';
import { fail, printJson } from '../output';

interface CreateConfigFlags {
  output: string;
  batchNum?: string;
  skipLayers?: string;
  activationOffset?: string;
  fusion: boolean;
  skipFusionLayers?: string;
  json?: boolean;
}

function list(v: string | undefined): string[] {
  return v ? v.split(',').map((s) => s.trim()).filter(Boolean) : [];
}

function bool(flag: string, v: string): boolean {
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new QtuneError('cli_invalid', `--${flag} wants true or false, got "${v}"`);
}

export function registerCreateConfig(program: Command): void {
  program
    .command('create-config')
    .description('write a config.json for a model: every quantizable layer with its default settings')
    .argument('<model>', 'the float .onnx model')
    .requiredOption('-o, --output <config.json>', 'where to write the config')
    .option('--batch-num <n>', 'calibration batches (batch_num)')
    .option('--skip-layers <a,b>', 'layers to leave in float (quant_enable: false)')
    .option('--activation-offset <true|false>', 'asymmetric activations for all layers (default true)')
    .option('--no-fusion', 'turn BatchNorm fusion off (do_fusion: false)')
    .option('--skip-fusion-layers <a,b>', 'Conv layers not to fuse with their BatchNorm')
    .option('--json', 'print the layers as JSON')
    .action(async (modelPath: string, flags: CreateConfigFlags) => {
      try {
        const model = loadModel(modelPath);
        const cm = configModelOf(model);
        const batchNum = flags.batchNum !== undefined ? Number(flags.batchNum) : undefined;
        const config = createQuantConfig(cm.layers, {
          batchNum,
          skipLayers: list(flags.skipLayers),
          activationOffset: flags.activationOffset !== undefined ? bool('activation-offset', flags.activationOffset) : undefined,
          doFusion: flags.fusion,
          skipFusionLayers: list(flags.skipFusionLayers),
        });
        // the same checks as on load: skip_fusion_layers must name fusible layers
        const check = validateQuantConfig(quantConfigToJson(config), cm);
        if (!check.ok) throw configInvalidError(check.errors);
        const tmp = `${flags.output}.tmp-${process.pid}`;
        try {
          writeFileSync(tmp, formatQuantConfig(config));
          renameSync(tmp, flags.output);
        } catch (e) {
          throw new QtuneError('output_unwritable', `cannot write ${flags.output}: ${(e as Error).message}`, { file: flags.output });
        }
        const enabled = Object.values(config.layers).filter((l) => l.quant_enable !== false).length;
        if (flags.json) return printJson({ config: flags.output, layers: cm.layers, enabled, fusible: cm.fusible });
        console.log(`${flags.output}: ${cm.layers.length} quantizable layers (${enabled} enabled), ${cm.fusible?.length ?? 0} Conv+BN pairs fusible`);
      } catch (err) {
        fail(oneLine(err));
      }
    });
}
