import type { Command } from 'commander';
import { createBackend } from '../../backend/backend';
import { findAppPaths } from '../../backend/app-paths';
import { createNodeSettings } from '../../backend/settings-store';
import { forkLauncher } from '../../backend/worker-launcher';
import { startServer } from '../../server/serve';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fail } from '../output';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the qtune app in your browser, served on this machine only')
    .option('--port <port>', 'port to listen on (default: a free one)', (v) => Number.parseInt(v, 10))
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--token <token>', 'use this access token instead of a random one (env QTUNE_TOKEN)')
    .option('--settings-dir <dir>', 'keep app settings in this folder')
    .option('--projects-dir <dir>', 'create new projects (and the sample project) here (env QTUNE_PROJECTS_DIR; default ~/qtune-projects)')
    .action(async (opts: { port?: number; host: string; token?: string; settingsDir?: string; projectsDir?: string }) => {
      try {
        const paths = findAppPaths();
        const backend = createBackend({
          host: 'browser',
          launcher: forkLauncher(),
          settings: createNodeSettings(opts.settingsDir),
          version: paths.version,
          sampleDir: paths.sampleDir,
          projectsDir: resolve(opts.projectsDir ?? process.env.QTUNE_PROJECTS_DIR ?? join(homedir(), 'qtune-projects')),
          homeDir: process.cwd(),
        });
        const running = await startServer({
          backend,
          rendererDir: paths.rendererDir,
          port: opts.port,
          host: opts.host,
          token: opts.token ?? process.env.QTUNE_TOKEN,
        });
        console.log(`qtune is running at ${running.url}`);
        console.log('Open that URL in your browser (it carries the access token). Press Ctrl+C to stop.');
        const stop = async () => {
          backend.dispose();
          await running.close();
          process.exit(0);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      } catch (err) {
        fail(err);
      }
    });
}
