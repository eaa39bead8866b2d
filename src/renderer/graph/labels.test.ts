import { describe, expect, it } from 'vitest';
import { attrSummary, shapeLabel } from './labels';

describe('attrSummary', () => {
  it('shows kernel, stride, dilation and groups as Netron does, leaving defaults out', () => {
    expect(attrSummary({ kernel_shape: '3x3', strides: '2,2', group: '32', pads: '1,1,1,1' })).toBe('3×3 s2 g32');
    expect(attrSummary({ kernel_shape: '1x1', strides: '1,1', group: '1', dilations: '1,1' })).toBe('1×1');
    expect(attrSummary({ kernel_shape: '3x3', dilations: '2,2' })).toBe('3×3 d2');
    expect(attrSummary({ kernel_shape: '1x7', strides: '1,2' })).toBe('1×7 s1×2');
  });
  it('falls back to an axis or a permutation, and says nothing for nothing', () => {
    expect(attrSummary({ axis: '1' })).toBe('axis 1');
    expect(attrSummary({ perm: '0,2,3,1' })).toBe('perm 0,2,3,1');
    expect(attrSummary({ alpha: '1' })).toBe('');
    expect(attrSummary(undefined)).toBe('');
  });
});

describe('shapeLabel', () => {
  it('writes a shape as Netron labels edges', () => {
    expect(shapeLabel([1, 3, 224, 224])).toBe('1×3×224×224');
    expect(shapeLabel(['N', 10])).toBe('N×10');
    expect(shapeLabel(['batch', 'p2o.DynamicDimension.0', 16])).toBe('batch×?×16');
    expect(shapeLabel([])).toBe('scalar');
    expect(shapeLabel(undefined)).toBe('');
  });
});
