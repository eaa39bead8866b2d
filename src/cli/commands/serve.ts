import { Option, type Command } from 'commander';
import { createBackend } from '../../backend/backend';
import { findAppPaths } from '../../backend/app-paths';
import { createNodeSettings } from '../../backend/settings-store';
import { forkLauncher } from '../../backend/worker-launcher';
import { startServer } from '../../server/serve';
import { QtuneError } from '../../shared/errors';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fail } from '../output';

interface ServeFlags {
  port?: number;
  host: string;
  allowRemote?: boolean;
  token?: string;
  tokenFile?: string;
  root?: string;
  settingsDir?: string;
  projectsDir?: string;
}

/** The access token from a file or QTUNE_TOKEN, never from the command line (every user sees it in `ps`). */
function tokenFrom(opts: ServeFlags): string | undefined {
  if (opts.token !== undefined) {
    throw new QtuneError('token_on_command_line', '--token is not accepted: a command line is visible to every user of this machine (ps). Put the token in a file (--token-file) or in QTUNE_TOKEN.');
  }
  if (opts.tokenFile) {
    try {
      return readFileSync(opts.tokenFile, 'utf8').trim();
    } catch (err) {
      throw new QtuneError('file_not_found', `Cannot read the token file ${opts.tokenFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { file: opts.tokenFile });
    }
  }
  return process.env.QTUNE_TOKEN || undefined;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the qtune app in your browser, served on this machine only')
    .option('--port <port>', 'port to listen on (default: a free one)', (v) => Number.parseInt(v, 10))
    .option('--host <host>', 'address to bind (only 127.0.0.1 / localhost unless --allow-remote)', '127.0.0.1')
    .option('--allow-remote', 'allow an address other machines can reach (plain HTTP: use an HTTPS proxy)')
    .option('--token-file <file>', 'read the access token (16+ characters) from this file instead of making a random one (or env QTUNE_TOKEN)')
    .addOption(new Option('--token <token>', 'refused: use --token-file or QTUNE_TOKEN').hideHelp())
    .option('--root <dir>', 'the in-page file browser shows only this folder and below (default: your home folder)')
    .option('--settings-dir <dir>', 'keep app settings in this folder')
    .option('--projects-dir <dir>', 'create new projects (and the sample project) here (env QTUNE_PROJECTS_DIR; default ~/qtune-projects)')
    .action(async (opts: ServeFlags) => {
      try {
        const paths = findAppPaths();
        const root = resolve(opts.root ?? homedir());
        const cwd = process.cwd();
        const rel = relative(root, cwd);
        const inside = rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
        const backend = createBackend({
          host: 'browser',
          launcher: forkLauncher(),
          settings: createNodeSettings(opts.settingsDir),
          version: paths.version,
          sampleDir: paths.sampleDir,
          projectsDir: resolve(opts.projectsDir ?? process.env.QTUNE_PROJECTS_DIR ?? join(homedir(), 'qtune-projects')),
          homeDir: inside ? cwd : root,
          browseRoot: root,
        });
        const running = await startServer({
          backend,
          rendererDir: paths.rendererDir,
          port: opts.port,
          host: opts.host,
          allowRemote: opts.allowRemote,
          token: tokenFrom(opts),
        });
        for (const w of running.warnings) console.warn(`qtune: warning: ${w}`);
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
