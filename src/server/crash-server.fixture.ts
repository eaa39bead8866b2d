// A `qtune serve` process for the crash tests (never part of a build): the
// real backend and server over a stand-in page, on a free port it prints.
// The tests kill it with SIGKILL in the middle of saving.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBackend } from '../backend/backend';
import { createMemorySettings } from '../backend/settings-store';
import { forkLauncher } from '../backend/worker-launcher';
import { startServer } from './serve';

const rendererDir = mkdtempSync(join(tmpdir(), 'qtune-crash-page-'));
writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>qtune</title>');
const backend = createBackend({ host: 'browser', launcher: forkLauncher(), settings: createMemorySettings(), version: 'crash-test', sampleDir: '/nowhere', projectsDir: rendererDir, homeDir: rendererDir });
const server = await startServer({ backend, rendererDir, token: process.env.QTUNE_TOKEN });
process.stdout.write(`port ${server.port}\n`);
