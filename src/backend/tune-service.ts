// Automatic tuning of a project: one tuning job at a time per project, each
// trial recorded as a config and a run as soon as it ends (so history,
// compare, analysis and export work on it), and the tuning's state in
// tunes/NNN/tune.json, written after every change: reopening the project
// during or after a tuning shows the same state, and a tuning that a crash
// interrupted can be resumed without evaluating its trials again.

import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { TuneState } from '../shared/api';
import { isCancelled, QtuneError } from '../shared/errors';
import type { TuneBudget, TuneEvent, TuneSummary } from '../shared/tune-types';
import { tuneStopText, tuneVerdict } from '../shared/tune-verdict';
import { writeFileAtomic } from './atomic-file';
import type { JobManager } from './job-manager';
import type { ProjectService } from './project-service';
import { resolveRef } from './project-store';

const pad = (n: number) => String(n).padStart(3, '0');

interface Running {
  tuneId: number;
  jobId: string;
  summary: TuneSummary;
  /** trial index → the config and run it became */
  ids: Map<number, { configId: number; runId: number }>;
  /** events are handled one after another, in the order the job sent them */
  chain: Promise<void>;
}

export class TuneService {
  private readonly running = new Map<string, Running>();

  constructor(
    private readonly jobs: JobManager,
    private readonly projects: ProjectService,
  ) {}

  private folder(key: string, tuneId: number): string {
    return join(key, 'tunes', pad(tuneId));
  }

  private async latest(key: string): Promise<{ tuneId: number; summary: TuneSummary } | null> {
    const dir = join(key, 'tunes');
    if (!existsSync(dir)) return null;
    const ids = (await readdir(dir)).filter((n) => /^\d{3,}$/.test(n)).map(Number).sort((a, b) => b - a);
    for (const tuneId of ids) {
      const file = join(this.folder(key, tuneId), 'tune.json');
      if (!existsSync(file)) continue;
      try {
        return { tuneId, summary: JSON.parse(await readFile(file, 'utf8')) as TuneSummary };
      } catch (err) {
        throw new QtuneError('tune_damaged', `${file} is damaged (${(err as Error).message}); it was left unchanged`, { file });
      }
    }
    return null;
  }

  private async save(key: string, tuneId: number, summary: TuneSummary): Promise<void> {
    await writeFileAtomic(join(this.folder(key, tuneId), 'tune.json'), `${JSON.stringify(summary, null, 2)}\n`);
  }

  private publish(key: string, state: TuneState): void {
    this.jobs.publish({ type: 'tune.update', dir: key, state });
  }

  async state(dir: string): Promise<TuneState> {
    const key = resolve(dir);
    const r = this.running.get(key);
    if (r) return { tuneId: r.tuneId, summary: r.summary, jobId: r.jobId };
    const last = await this.latest(key);
    if (!last) return { tuneId: null, summary: null, jobId: null };
    if (last.summary.status === 'running') {
      // its job is gone: qtune stopped while it ran
      last.summary.status = 'interrupted';
      last.summary.stop = { code: 'interrupted' };
      last.summary.stopReason = tuneStopText(last.summary.stop);
      last.summary.verdict = tuneVerdict(last.summary);
      await this.save(key, last.tuneId, last.summary);
    }
    return { tuneId: last.tuneId, summary: last.summary, jobId: null };
  }

  async start(dir: string, budget: TuneBudget, resumeIt = false): Promise<TuneState> {
    const key = resolve(dir);
    if (this.running.has(key)) throw new QtuneError('tune_running', 'This project is being tuned already; stop it first');
    const project = await this.projects.get(key);
    const last = await this.state(key);
    let tuneId = (last.tuneId ?? 0) + 1;
    let previous: TuneSummary | undefined;
    if (resumeIt) {
      if (!last.summary || last.summary.status === 'done') throw new QtuneError('tune_nothing_to_resume', 'There is no unfinished tuning to resume in this project');
      tuneId = last.tuneId!;
      previous = last.summary;
    }
    const folder = this.folder(key, tuneId);
    const workDir = join(folder, 'work');
    await rm(workDir, { recursive: true, force: true });
    await mkdir(workDir, { recursive: true });
    const metric = project.evaluation.metric;
    const jobId = this.jobs.start(
      'tune.run',
      {
        modelPath: resolveRef(key, project.model),
        calibrationData: resolveRef(key, project.calibration),
        evaluationData: resolveRef(key, project.evaluation),
        labels: project.evaluation.labels ? resolveRef(key, project.evaluation.labels) : undefined,
        metric,
        trustedEvaluator: this.projects.isTrusted(key, metric),
        calibrationBatchSize: project.calibration.batchSize,
        evaluationBatchSize: project.evaluation.batchSize,
        target: project.target,
        budget,
        workDir,
        previous,
      },
      key,
    );
    const summary: TuneSummary = previous
      ? { ...previous, status: 'running', budget, stopReason: undefined, stop: undefined, endedAt: undefined }
      : { version: 1, status: 'running', target: project.target, budget, startedAt: new Date().toISOString(), trials: [], best: null, verdict: 'no trial finished' };
    const ids = new Map((previous?.trials ?? []).filter((t) => t.configId && t.runId).map((t) => [t.index, { configId: t.configId!, runId: t.runId! }]));
    const r: Running = { tuneId, jobId, summary, ids, chain: Promise.resolve() };
    this.running.set(key, r);
    const off = this.jobs.onJobEvent(jobId, (e) => {
      r.chain = r.chain.then(() => this.onEvent(key, r, e as TuneEvent)).catch((err) => {
        r.summary.error = `a trial could not be recorded: ${(err as Error).message}`;
      });
    });
    const finished = (summary?: TuneSummary, error?: { code?: string; message?: string }) =>
      (r.chain = r.chain.then(async () => {
        if (summary) r.summary = this.withIds(summary, r);
        else {
          r.summary.status = error?.code === 'cancelled' ? 'stopped' : 'failed';
          if (!isCancelled(error)) r.summary.error = error?.message;
          r.summary.endedAt = new Date().toISOString();
          r.summary.verdict = tuneVerdict(r.summary);
        }
        this.running.delete(key);
        off();
        await this.save(key, tuneId, r.summary);
        await rm(workDir, { recursive: true, force: true });
        this.publish(key, { tuneId, summary: r.summary, jobId: null });
      }));
    this.jobs
      .wait<'tune.run'>(jobId)
      .then((s) => finished(s))
      .catch((e: { code?: string; message?: string }) => finished(undefined, e));
    await this.save(key, tuneId, summary);
    const state = { tuneId, summary, jobId };
    this.publish(key, state);
    return state;
  }

  async stop(dir: string): Promise<TuneState> {
    const key = resolve(dir);
    const r = this.running.get(key);
    if (r) this.jobs.cancel(r.jobId);
    return this.state(key);
  }

  private withIds(summary: TuneSummary, r: Running): TuneSummary {
    return { ...summary, trials: summary.trials.map((t) => ({ ...t, ...r.ids.get(t.index) })) };
  }

  private async onEvent(key: string, r: Running, e: TuneEvent): Promise<void> {
    if (e.type === 'tune.trial') {
      const t = e.trial;
      const ids = await this.projects.recordTrial(key, {
        config: t.config,
        note: `tuning ${r.tuneId}, trial ${t.index}: ${t.change}`,
        parent: r.ids.get(1)?.configId,
        files: e.dir,
        result: e.result as Parameters<ProjectService['recordTrial']>[1]['result'],
        error: t.error,
      });
      r.ids.set(t.index, ids);
      await rm(e.dir, { recursive: true, force: true });
      r.summary = this.withIds({ ...r.summary, trials: [...r.summary.trials.filter((x) => x.index !== t.index), t] }, r);
    } else {
      r.summary = this.withIds(e.summary, r);
    }
    await this.save(key, r.tuneId, r.summary);
    this.publish(key, { tuneId: r.tuneId, summary: r.summary, jobId: r.jobId });
  }
}
