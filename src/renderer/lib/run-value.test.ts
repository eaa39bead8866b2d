import { describe, expect, it } from 'vitest';
import { formatRunDrop, formatRunValue } from './run-value';

describe('a run\'s figures', () => {
  it('accuracy in percent with its drop; a similarity in its own units, without a drop in points', () => {
    expect(formatRunValue(77.3, 'classification')).toBe('77.30%');
    expect(formatRunValue(77.3, undefined)).toBe('77.30%');
    expect(formatRunDrop(85.65, 77.3, 'classification')).toBe('8.35');
    expect(formatRunValue(0.998391, 'cosine')).toBe('0.99839');
    expect(formatRunValue(37.491, 'sqnr')).toBe('37.49 dB');
    expect(formatRunValue(0.00333, 'mse')).toBe('3.330e-3');
    expect(formatRunDrop(1, 0.99839, 'cosine')).toBe('—');
    expect(formatRunValue(undefined, 'cosine')).toBe('—');
  });
});
