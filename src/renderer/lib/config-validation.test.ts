// The renderer validates config.json with a validator precompiled from the
// shared schema (the page's CSP forbids compiling it at run time). These tests
// check the shipped file is what the schema compiles to today, and the paths
// and rules of the issues it yields.
import { describe, expect, it } from 'vitest';
import generated from './config-validator.generated.js?raw';
import { generateValidatorSource } from './config-validator-source.mjs';
import { validateConfig, validateConfigText, issuesAt } from './config-validation';

describe('config validation', () => {
  it('ships the validator the current schema compiles to (else run gen-config-validator.mjs)', () => {
    expect(generated).toBe(generateValidatorSource());
  });

  it('reports schema errors with the layer-bracketed JSON path', () => {
    const issues = validateConfig({ version: 1, batch_num: 0, 'a.b': { activation_quant_params: { min_percentile: 0.4, act_algo: 'minmax' }, extra: 1 } });
    expect(issues.map((i) => i.path).sort()).toEqual([
      '$.batch_num',
      '$["a.b"].activation_quant_params.act_algo',
      '$["a.b"].activation_quant_params.min_percentile',
      '$["a.b"].extra',
    ]);
    expect(issuesAt(issues, 'a.b', 'activation_quant_params', 'min_percentile')[0].message).toBe('must be > 0.5, found 0.4');
  });

  it('names layers the model does not have and accepts a valid config', () => {
    const model = { conv: { opType: 'Conv' } };
    expect(validateConfig({ version: 1, conv: { quant_enable: false } }, model)).toEqual([]);
    // the same message, with the closest real names, that the engine gives when it loads the file
    expect(validateConfig({ version: 1, cnv: {} }, model)).toEqual([
      { path: '$["cnv"]', message: '"cnv" is not a quantizable layer of the model; closest: "conv"', suggestions: ['conv'] },
    ]);
    expect(validateConfigText('[1]').issues[0]).toEqual({ path: '$', message: 'config.json must hold a JSON object, found an array' });
  });

  it('flags a search range whose start is not below its end', () => {
    const issues = validateConfig({ conv: { activation_quant_params: { search_range: [1.3, 0.7] } } });
    expect(issues).toEqual([{ path: '$["conv"].activation_quant_params.search_range', message: 'start must be below end (0 < start < end), found [1.3, 0.7]' }]);
  });
});
