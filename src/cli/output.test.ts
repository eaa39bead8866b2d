import { describe, expect, it } from 'vitest';
import { etaSeconds, progressPrinter } from './output';

function recorder(isTTY: boolean) {
  const writes: string[] = [];
  return { stream: { isTTY, write: (t: string) => writes.push(t) }, writes };
}

describe('progressPrinter', () => {
  it('shows stage, done/total and an ETA from the pace so far, redrawn in place on a terminal', () => {
    const { stream, writes } = recorder(true);
    let now = 0;
    const bar = progressPrinter(stream, () => now);
    bar.update('calibrate', 0, 10);
    now = 2000;
    bar.update('calibrate', 4, 10);
    now = 100_000;
    bar.update('ifmr', 0, 3); // a new stage starts its own clock
    now = 190_000;
    bar.update('ifmr', 1, 3);
    bar.end();
    expect(writes[0]).toBe('\rcalibrate [........................] 0/10\x1b[K');
    expect(writes[1]).toBe('\rcalibrate [##########..............] 4/10 ETA 3s\x1b[K');
    expect(writes[3]).toBe('\rifmr [########................] 1/3 ETA 3m00s\x1b[K');
    expect(writes.at(-1)).toBe('\n');
  });

  it('in a log writes a line at the start and end of a stage and every few seconds between, with the ETA', () => {
    const { stream, writes } = recorder(false);
    let now = 1_000_000;
    const bar = progressPrinter(stream, () => now, 5000);
    for (let i = 0; i <= 20; i++) {
      bar.update('evaluate', i, 20);
      now += 1000;
    }
    expect(writes).toEqual([
      'evaluate [........................] 0/20\n',
      'evaluate [######..................] 5/20 ETA 15s\n',
      'evaluate [############............] 10/20 ETA 10s\n',
      'evaluate [##################......] 15/20 ETA 5s\n',
      'evaluate [########################] 20/20\n',
    ]);
  });

  it('gives no ETA before there is a pace to go by', () => {
    expect(etaSeconds(100, 1, 10)).toBeUndefined();
    expect(etaSeconds(5000, 0, 10)).toBeUndefined();
    expect(etaSeconds(5000, 10, 10)).toBeUndefined();
    expect(etaSeconds(1000, 1, 3)).toBe(2);
  });
});
