// `qtune serve` as a user starts it: the token never on the command line,
// short tokens and non-loopback hosts refused with one clear line.

import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

function serve(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [resolve('bin/qtune.js'), 'serve', ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, QTUNE_TOKEN: '', ...env } });
  return { code: r.status, stderr: r.stderr };
}

describe('qtune serve (command line)', () => {
  it('refuses a token on the command line, where every user sees it in ps', () => {
    const r = serve(['--token', 'abcdefghijklmnopqrstuvwxyz']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^qtune: error: --token is not accepted.*--token-file.*QTUNE_TOKEN/);
  });

  it('refuses a short token from the environment or a file', () => {
    expect(serve([], { QTUNE_TOKEN: 'short' }).stderr).toContain('at least 16 characters');
    const file = join(mkdtempSync(join(tmpdir(), 'qtune-token-')), 'token');
    writeFileSync(file, 'tiny\n');
    expect(serve(['--token-file', file]).stderr).toContain('at least 16 characters');
  });

  it('refuses to listen beyond this machine without --allow-remote', () => {
    const r = serve(['--host', '0.0.0.0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--allow-remote');
  });
});
