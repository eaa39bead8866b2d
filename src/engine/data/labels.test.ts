import { describe, expect, it } from 'vitest';
import { parseTextLabels } from './labels';

describe('parseTextLabels', () => {
  it('text lines are labels as they are; integer files (with or without a header) are not text', () => {
    expect(parseTextLabels('cat\ndog\n  a bird \n')).toEqual(['cat', 'dog', '  a bird ']);
    // an empty line is an empty label (a blank image's transcription); the final newline adds none
    expect(parseTextLabels('HELLO\n\nWORLD\r\n')).toEqual(['HELLO', '', 'WORLD']);
    expect(parseTextLabels('cat')).toEqual(['cat']);
    expect(parseTextLabels('3\n1\n4\n')).toBeUndefined();
    expect(parseTextLabels('label\n3\n1\n')).toBeUndefined();
    expect(parseTextLabels('\n\n')).toBeUndefined();
  });
});
