import { describe, expect, it } from 'vitest';
import { CANCELLED_MESSAGE, cancelledError, deserializeError, ERROR_CODES, isCancelled, QtuneError, RENAMED_ERROR_CODES, serializeError, throwIfAborted, toErrorCode } from './errors';

describe('error codes', () => {
  it('are listed once each, all snake_case', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    for (const code of ERROR_CODES) expect(code).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
  });
  it('old kebab-case spellings arrive as their new names; unknown codes as internal', () => {
    for (const [old, now] of Object.entries(RENAMED_ERROR_CODES)) {
      expect(ERROR_CODES).toContain(now);
      expect(new QtuneError(old as keyof typeof RENAMED_ERROR_CODES, 'x').code).toBe(now);
    }
    expect(toErrorCode('analyze-inputs')).toBe('analyze_inputs');
    expect(toErrorCode('no-such-code')).toBe('internal');
    expect(toErrorCode(42)).toBe('internal');
  });
});

describe('cancellation', () => {
  it('one error and one message wherever work stops', () => {
    const ctl = new AbortController();
    expect(() => throwIfAborted(ctl.signal)).not.toThrow();
    ctl.abort();
    expect(() => throwIfAborted(ctl.signal)).toThrow(CANCELLED_MESSAGE);
    expect(isCancelled(cancelledError())).toBe(true);
    expect(isCancelled(serializeError(cancelledError()))).toBe(true);
    expect(isCancelled(new QtuneError('internal', 'x'))).toBe(false);
    expect(isCancelled(undefined)).toBe(false);
  });
});

describe('serialised errors', () => {
  it('come back as QtuneErrors with code, message and details', () => {
    const back = deserializeError(serializeError(new QtuneError('run_damaged', 'bad', { file: 'r.json' })));
    expect(back).toBeInstanceOf(QtuneError);
    expect(back).toMatchObject({ code: 'run_damaged', message: 'bad', details: { file: 'r.json' } });
  });
});
