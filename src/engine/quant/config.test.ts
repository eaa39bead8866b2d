import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QtuneError } from '../../shared/errors';
import {
  closestNames,
  createQuantConfig,
  effectiveConfig,
  effectiveLayerConfig,
  formatQuantConfig,
  parseQuantConfigFile,
  validateQuantConfig,
  type ConfigModel,
} from './config';

const seedPath = fileURLToPath(new URL('./testdata/seed-config.json', import.meta.url));
const seedText = readFileSync(seedPath, 'utf8');

const mobilenet: ConfigModel = {
  layers: [
    { name: 'MobilenetV2/Conv/Conv2D', opType: 'Conv', kernelDims: 2 },
    { name: 'MobilenetV2/Conv_1/Conv2D', opType: 'Conv', kernelDims: 2 },
    { name: 'MobilenetV2/expanded_conv/depthwise/depthwise', opType: 'Conv', kernelDims: 2 },
    { name: 'MobilenetV2/Logits/AvgPool', opType: 'AveragePool' },
    { name: 'MobilenetV2/Logits/Conv2d_1c_1x1/Conv2D', opType: 'Conv', kernelDims: 2 },
    { name: 'fc', opType: 'Gemm' },
    { name: 'conv3d', opType: 'Conv', kernelDims: 3 },
  ],
  fusible: ['MobilenetV2/Conv/Conv2D', 'MobilenetV2/Conv_1/Conv2D'],
};

function tmpFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'qtune-config-'));
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function errorsOf(json: unknown, model: ConfigModel = mobilenet) {
  const r = validateQuantConfig(json, model);
  if (r.ok) throw new Error('expected the config to be rejected');
  return r.errors;
}

describe('the seed example config', () => {
  it('loads unchanged from its file', () => {
    const config = parseQuantConfigFile(seedPath, mobilenet);
    expect(Object.keys(config.layers)).toEqual(['MobilenetV2/Conv/Conv2D', 'MobilenetV2/Conv_1/Conv2D']);
    expect(config.activation_offset).toBe(true);
    expect(config.batch_num).toBe(1);
    const r = effectiveLayerConfig(config, 'MobilenetV2/Conv/Conv2D', { opType: 'Conv' });
    expect(r).toEqual({
      name: 'MobilenetV2/Conv/Conv2D',
      activation: { maxPercentile: 0.999999, minPercentile: 0.999999, searchRange: [0.7, 1.3], searchStep: 0.01, asymmetric: false, actAlgo: 'ifmr' },
      weight: { channelWise: true, wtsAlgo: 'arq_quantize' },
    });
    // layers without an entry are skipped
    expect(effectiveLayerConfig(config, 'MobilenetV2/Logits/AvgPool', { opType: 'AveragePool' })).toBeNull();
  });

  it('gives path-precise errors for a broken copy', () => {
    const broken = JSON.parse(seedText);
    broken['MobilenetV2/Conv_1/Conv2D'].activation_quant_params.search_step = 0.9; // > 1.3 - 0.7
    broken['MobilenetV2/Conv/Conv2D'].activation_quant_params.max_percentile = '0.9'; // wrong type
    broken['MobilenetV2/Conv/Conv2D'].weight_quant_params.chanel_wise = true; // unknown field
    broken['MobilenetV2/Conv/Conv2d'] = broken['MobilenetV2/Conv/Conv2D']; // misspelt layer
    const errors = errorsOf(broken);
    const byPath = Object.fromEntries(errors.map((e) => [e.path, e]));
    expect(Object.keys(byPath).sort()).toEqual([
      '$["MobilenetV2/Conv/Conv2D"].activation_quant_params.max_percentile',
      '$["MobilenetV2/Conv/Conv2D"].weight_quant_params.chanel_wise',
      '$["MobilenetV2/Conv/Conv2d"]',
      '$["MobilenetV2/Conv_1/Conv2D"].activation_quant_params.search_step',
    ]);
    expect(byPath['$["MobilenetV2/Conv_1/Conv2D"].activation_quant_params.search_step'].message).toMatch(/\(0, 0\.6\].*found 0\.9/);
    expect(byPath['$["MobilenetV2/Conv/Conv2D"].activation_quant_params.max_percentile'].message).toMatch(/must be a number, found the string "0.9"/);
    expect(byPath['$["MobilenetV2/Conv/Conv2D"].weight_quant_params.chanel_wise'].suggestions).toEqual(['channel_wise']);
    expect(byPath['$["MobilenetV2/Conv/Conv2d"]'].suggestions![0]).toBe('MobilenetV2/Conv/Conv2D');
  });

  it('throws one config_invalid error listing every problem, naming the file', () => {
    const broken = JSON.parse(seedText);
    broken.version = 2;
    broken['MobilenetV2/Conv/Conv2D'].activation_quant_params.search_range = [1.3, 0.7];
    const p = tmpFile('config.json', JSON.stringify(broken, null, 2));
    try {
      parseQuantConfigFile(p, mobilenet);
      expect.unreachable();
    } catch (e) {
      const err = e as QtuneError;
      expect(err).toBeInstanceOf(QtuneError);
      expect(err.code).toBe('config_invalid');
      expect(err.details.file).toBe(p);
      expect(err.message).toContain('2 problems');
      expect(err.message).toContain('$.version: must be 1, found number 2');
      expect(err.message).toContain('$["MobilenetV2/Conv/Conv2D"].activation_quant_params.search_range: start must be below end');
    }
  });

  it('reports JSON syntax errors with file, line and column', () => {
    const p = tmpFile('bad.json', '{\n  "version": 1,\n  "batch_num": 2,,\n}\n');
    expect(() => parseQuantConfigFile(p, mobilenet)).toThrow(new RegExp(`${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:\\d+: invalid JSON`));
    try {
      parseQuantConfigFile(p, mobilenet);
    } catch (e) {
      expect((e as QtuneError).code).toBe('config_syntax');
    }
    expect(() => parseQuantConfigFile(join(tmpdir(), 'no-such-qtune-config.json'), mobilenet)).toThrow(/no-such-qtune-config/);
  });
});

describe('validation rules', () => {
  const one = (layer: string, entry: unknown, extra: Record<string, unknown> = {}) => ({ version: 1, ...extra, [layer]: entry });

  it('accepts an empty object and fills the global defaults', () => {
    const r = validateQuantConfig({}, mobilenet);
    expect(r.ok && r.config).toEqual({ version: 1, batch_num: 1, activation_offset: true, do_fusion: true, skip_fusion_layers: [], layers: {} });
  });

  it('checks ranges of every field', () => {
    const act = (p: Record<string, unknown>) => errorsOf(one('fc', { activation_quant_params: p }));
    expect(act({ max_percentile: 0.5 })[0].message).toMatch(/must be > 0.5/);
    expect(act({ min_percentile: 1.01 })[0].message).toMatch(/must be <= 1/);
    expect(act({ search_range: [0, 1] })[0].path).toBe('$["fc"].activation_quant_params.search_range[0]');
    expect(act({ search_range: [0.7] })[0].message).toMatch(/fewer than 2/);
    expect(act({ search_step: 0 })[0].message).toMatch(/must be > 0/);
    expect(act({ act_algo: 'kl' })[0].message).toMatch(/one of "ifmr"/);
    expect(act({ search_range: [0.5, 1.0], search_step: 0.6 })[0].message).toMatch(/\(0, 0.5\]/);
    expect(validateQuantConfig(one('fc', { activation_quant_params: { search_range: [0.5, 1.0], search_step: 0.5 } }), mobilenet).ok).toBe(true);
    expect(errorsOf({ batch_num: 0 })[0].path).toBe('$.batch_num');
    expect(errorsOf({ batch_num: 1.5 })[0].message).toMatch(/integer/);
    expect(errorsOf({ do_fusion: 'yes' })[0].message).toMatch(/boolean/);
    expect(errorsOf(one('fc', { weight_quant_params: { wts_algo: 'minmax' } }))[0].path).toBe('$["fc"].weight_quant_params.wts_algo');
    expect(errorsOf(one('fc', { quant_enable: 1 }))[0].message).toMatch(/boolean, found number 1/);
    expect(errorsOf([])[0].message).toMatch(/object/);
  });

  it('enforces the per-op rules', () => {
    const e = errorsOf(one('fc', { weight_quant_params: { channel_wise: true } }));
    expect(e).toEqual([{ path: '$["fc"].weight_quant_params.channel_wise', message: expect.stringMatching(/false for Gemm/) }]);
    expect(errorsOf(one('MobilenetV2/Logits/AvgPool', { weight_quant_params: { channel_wise: true } }))[0].message).toMatch(/AveragePool/);
    expect(errorsOf(one('conv3d', { activation_quant_params: { asymmetric: true } }))[0].path).toBe('$["conv3d"].activation_quant_params.asymmetric');
    expect(validateQuantConfig(one('conv3d', { activation_quant_params: { asymmetric: false } }), mobilenet).ok).toBe(true);
  });

  it('checks skip_fusion_layers against the fusible layers and suggests names', () => {
    const e = errorsOf({ skip_fusion_layers: ['MobilenetV2/Conv/Conv2D', 'MobilenetV2/Conv1/Conv2D'] });
    expect(e[0].path).toBe('$.skip_fusion_layers[1]');
    expect(e[0].suggestions![0]).toBe('MobilenetV2/Conv_1/Conv2D');
  });

  it('suggests a global field for a misspelt one', () => {
    const e = errorsOf({ activation_ofset: true });
    expect(e).toHaveLength(1);
    expect(e[0].suggestions![0]).toBe('activation_offset');
  });
});

describe('createQuantConfig and resolution', () => {
  it('creates a config that validates, with skipped layers disabled', () => {
    const config = createQuantConfig(mobilenet.layers, { batchNum: 4, activationOffset: false, skipLayers: ['fc'] });
    expect(config.batch_num).toBe(4);
    expect(config.layers.fc.quant_enable).toBe(false);
    expect(config.layers.fc.weight_quant_params!.channel_wise).toBe(false);
    expect(config.layers['MobilenetV2/Conv/Conv2D'].weight_quant_params!.channel_wise).toBe(true);
    expect(config.layers.conv3d.activation_quant_params!.asymmetric).toBe(false);
    const r = validateQuantConfig(JSON.parse(formatQuantConfig(config)), mobilenet);
    expect(r.ok).toBe(true);
    expect(r.ok && r.config).toEqual(config);
    expect(effectiveLayerConfig(config, 'fc', { opType: 'Gemm' })).toBeNull();
  });

  it('rejects unknown skip layers with suggestions', () => {
    expect(() => createQuantConfig(mobilenet.layers, { skipLayers: ['MobilenetV2/Conv/Conv2d'] })).toThrow(/closest: "MobilenetV2\/Conv\/Conv2D"/);
    expect(() => createQuantConfig(mobilenet.layers, { batchNum: 0 })).toThrow(QtuneError);
  });

  it('lets a layer asymmetric switch win over activation_offset', () => {
    const r = validateQuantConfig(
      { activation_offset: true, fc: { activation_quant_params: { asymmetric: false } }, 'MobilenetV2/Conv/Conv2D': {}, conv3d: {} },
      mobilenet,
    );
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(effectiveLayerConfig(r.config, 'fc', { opType: 'Gemm' })!.activation.asymmetric).toBe(false);
    expect(effectiveLayerConfig(r.config, 'MobilenetV2/Conv/Conv2D', { opType: 'Conv' })!.activation.asymmetric).toBe(true);
    expect(effectiveLayerConfig(r.config, 'conv3d', { opType: 'Conv', kernelDims: 3 })!.activation.asymmetric).toBe(false);
    expect(effectiveLayerConfig(r.config, 'fc', { opType: 'Gemm' })!.weight.channelWise).toBe(false);
  });

  it('writes the effective config with every default filled in', () => {
    const r = validateQuantConfig({ batch_num: 2, fc: { quant_enable: false }, 'MobilenetV2/Conv/Conv2D': {} }, mobilenet);
    if (!r.ok) throw new Error('invalid');
    const eff = effectiveConfig(r.config, mobilenet.layers);
    expect(eff.layers['MobilenetV2/Conv/Conv2D']).toEqual({
      quant_enable: true,
      activation_quant_params: { max_percentile: 0.999999, min_percentile: 0.999999, search_range: [0.7, 1.3], search_step: 0.01, act_algo: 'ifmr', asymmetric: true },
      weight_quant_params: { wts_algo: 'arq_quantize', channel_wise: true },
    });
    expect(eff.layers.fc.quant_enable).toBe(false);
    expect(eff.layers.fc.weight_quant_params!.channel_wise).toBe(false);
    expect(validateQuantConfig(JSON.parse(formatQuantConfig(eff)), mobilenet).ok).toBe(true);
  });

  it('ranks close names by edit distance', () => {
    expect(closestNames('conv1', ['conv2', 'conv10', 'fc', 'Conv1'])).toEqual(['Conv1', 'conv10', 'conv2']);
  });
});
