import { describe, expect, it } from 'vitest';
import { diffConfigs, showValue } from './config-diff';

const layer = (max: number, step: number, extra: Record<string, unknown> = {}) => ({
  quant_enable: true,
  activation_quant_params: { max_percentile: max, min_percentile: 0.999999, search_range: [0.7, 1.3], search_step: step },
  weight_quant_params: { channel_wise: true },
  ...extra,
});

describe('diffConfigs', () => {
  it('names each field that differs in a layer, and nothing else', () => {
    const a = { version: 1, batch_num: 1, conv1: layer(0.999999, 0.01), conv2: layer(0.999999, 0.01) };
    const b = { version: 1, batch_num: 1, conv1: layer(0.999999, 0.01), conv2: layer(0.9999, 0.02) };
    expect(diffConfigs(a, b)).toEqual([
      { layer: 'conv2', field: 'activation_quant_params.max_percentile', before: 0.999999, after: 0.9999 },
      { layer: 'conv2', field: 'activation_quant_params.search_step', before: 0.01, after: 0.02 },
    ]);
    expect(diffConfigs(a, a)).toEqual([]);
  });

  it('lists global changes first, and fields only one side has', () => {
    const a = { batch_num: 1, fc: { quant_enable: true } };
    const b = { batch_num: 4, fc: { quant_enable: false, activation_quant_params: { search_range: [0.5, 1.5] } } };
    expect(diffConfigs(a, b).map((c) => `${c.layer ?? '*'} ${c.field} ${showValue(c.before)} → ${showValue(c.after)}`)).toEqual([
      '* batch_num 1 → 4',
      'fc quant_enable true → false',
      'fc activation_quant_params.search_range default → [0.5,1.5]',
    ]);
  });
});
