// JSON Schema of config.json (draft-07). The engine validates files with it
// and the renderer's editor uses the same object, so both apply one set of
// rules. What a schema cannot say (search_range start < end, search_step
// within the range, layer names that exist in the model, per-op rules) is
// checked in src/engine/quant/config.ts.

import { DEFAULT_ACTIVATION_PARAMS as ACT } from './config-types';

const percentile = {
  type: 'number',
  exclusiveMinimum: 0.5,
  maximum: 1,
  description: `Percentile for the initial clip value, in (0.5, 1]. Default ${ACT.max_percentile}.`,
};

export const QUANT_CONFIG_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://qtune.dev/schema/quant-config.json',
  title: 'qtune quantization configuration (config.json)',
  type: 'object',
  properties: {
    version: { const: 1, description: 'Version of the file format; only 1.' },
    batch_num: { type: 'integer', minimum: 1, description: 'Number of calibration batches. Default 1.' },
    activation_offset: {
      type: 'boolean',
      description: 'Global asymmetric switch for activations; a layer\'s "asymmetric" takes precedence. Default true.',
    },
    do_fusion: { type: 'boolean', description: 'BatchNorm fusion on/off. Default true.' },
    skip_fusion_layers: {
      type: 'array',
      items: { type: 'string' },
      uniqueItems: true,
      description: 'Names of fusible layers not to fuse.',
    },
  },
  additionalProperties: { $ref: '#/definitions/layer' },
  definitions: {
    layer: {
      type: 'object',
      description: 'Quantization of one layer (key: the layer name). A layer without an entry is not quantized.',
      properties: {
        quant_enable: { type: 'boolean', description: 'false: leave this layer in float. Default true.' },
        activation_quant_params: {
          type: 'object',
          description: 'IFMR activation quantization.',
          properties: {
            max_percentile: percentile,
            min_percentile: percentile,
            search_range: {
              type: 'array',
              items: { type: 'number', exclusiveMinimum: 0 },
              minItems: 2,
              maxItems: 2,
              description: `Clip search range [start, end], 0 < start < end. Default [${ACT.search_range.join(', ')}].`,
            },
            search_step: {
              type: 'number',
              exclusiveMinimum: 0,
              description: `Clip search step, in (0, end - start]. Default ${ACT.search_step}.`,
            },
            act_algo: { enum: ['ifmr'], description: 'Activation algorithm; only "ifmr".' },
            asymmetric: {
              type: 'boolean',
              description: 'Asymmetric activation quantization; absent: the global activation_offset.',
            },
          },
          additionalProperties: false,
        },
        weight_quant_params: {
          type: 'object',
          description: 'ARQ weight quantization.',
          properties: {
            wts_algo: { enum: ['arq_quantize'], description: 'Weight algorithm; only "arq_quantize".' },
            channel_wise: {
              type: 'boolean',
              description: 'One scale per output channel. Default true for Conv/ConvTranspose; must be false for Gemm, MatMul, AveragePool.',
            },
          },
          additionalProperties: false,
        },
      },
      additionalProperties: false,
    },
  },
};
