// The open project as the UI sees it: project.json, the model's summary, the
// config being edited, cached run details, and the one job that may run at a
// time. Every wizard position and selection change goes back to project.json
// (project.update) so reopening the project restores exactly where the user was.

import type { JobProgress, ProjectJob, ProjectPatch, RunDetails } from '../../shared/api';
import type { ModelSummary } from '../../shared/model-summary';
import type { OpenProject, ProjectFile, ProjectUiState, ProjectWarning, WizardStep } from '../../shared/project';
import type { AnalysisReport } from '../../shared/analysis-types';
import type { RunResult } from '../../shared/run-types';
import { applyProjectPatch } from '../../shared/project-patch';
import { api, errorMessage, followJob, runJob } from './api';
import { resolveRef } from './paths';
import type { ConfigJson } from './config-edit';
import { t } from './i18n/index.svelte';

export interface ActiveJob {
  label: string;
  progress: JobProgress | null;
  cancel: () => Promise<void>;
}

export class Session {
  dir = $state<string>('');
  project = $state<ProjectFile | null>(null);
  warnings = $state<ProjectWarning[]>([]);
  summary = $state<ModelSummary | null>(null);
  summaryError = $state('');
  /** the config the editor holds; configId null = generated or edited, not saved yet */
  draft = $state<ConfigJson | null>(null);
  draftConfigId = $state<number | null>(null);
  draftDirty = $state(false);
  /** the JSON view holds text that does not parse yet (kept, never dropped) */
  draftUnparsed = $state(false);
  /** a config saved with "save and re-run": step 3 starts its run as it opens */
  runRequested = $state<number | null>(null);
  job = $state<ActiveJob | null>(null);
  error = $state('');
  runs = $state<Record<number, RunDetails>>({});

  private readonly offEvents: () => void;

  constructor(opened: OpenProject) {
    this.dir = opened.dir;
    this.project = opened.project;
    this.warnings = opened.warnings;
    this.restoreDraft();
    // project.json as the backend wrote it (a run or an analysis that ended); older backends do not send it
    this.offEvents = api().onEvent((e) => {
      const changed = e as unknown as { type: string; dir?: string; project?: ProjectFile };
      if (changed.type === 'project.changed' && changed.dir === this.dir && changed.project) this.adopt(changed.project);
    });
  }

  /** Stop listening (the project was closed, or another one opened). */
  dispose(): void {
    this.offEvents();
  }

  /** Unsaved edits the user would lose by leaving. */
  get unsaved(): boolean {
    return this.draftDirty || this.draftUnparsed;
  }

  // An edited, unsaved config survives a reload of the page (per tab, per project).
  private get draftKey(): string {
    return `qtune.draft:${this.dir}`;
  }

  private storeDraft(): void {
    try {
      if (this.draftDirty && this.draft) sessionStorage.setItem(this.draftKey, JSON.stringify({ draft: this.draft, configId: this.draftConfigId }));
      else sessionStorage.removeItem(this.draftKey);
    } catch {
      // storage full or unavailable: the warning on leaving still applies
    }
  }

  private restoreDraft(): void {
    try {
      const saved = sessionStorage.getItem(this.draftKey);
      if (!saved) return;
      const { draft, configId } = JSON.parse(saved) as { draft: ConfigJson; configId: number | null };
      this.draft = draft;
      this.draftConfigId = configId;
      this.draftDirty = true;
    } catch {
      // a damaged entry is ignored
    }
  }

  get step(): WizardStep {
    return this.project?.wizard.step ?? 'project';
  }

  get modelPath(): string {
    return this.project ? resolveRef(this.dir, this.project.model) : '';
  }

  path(ref: { path: string } | string): string {
    return resolveRef(this.dir, ref);
  }

  private updateSeq = 0;
  /** Changes sent and not answered yet, in the order sent (not shown by itself: no reactivity). */
  private unanswered: { seq: number; patch: ProjectPatch }[] = [];

  /**
   * Show a project.json the backend sent (an event, a re-read) with the
   * changes still on their way laid over it again: that file may have been
   * written before them, and a quick second tick would otherwise flicker
   * back to the first until its answer came.
   */
  private adopt(project: ProjectFile): void {
    this.project = project;
    for (const u of this.unanswered) applyProjectPatch(this.project, u.patch);
  }

  async update(patch: ProjectPatch): Promise<void> {
    // optimistic: the UI reflects the change at once, the saved file follows
    if (this.project) applyProjectPatch(this.project, patch);
    // Answers can overtake each other; only the newest one may replace the
    // project, or a quick second change would flicker back to the first.
    const seq = ++this.updateSeq;
    this.unanswered.push({ seq, patch });
    try {
      const saved = await api().call('project.update', { dir: this.dir, patch });
      // the backend applies changes in order: this answer holds every earlier one
      this.unanswered = this.unanswered.filter((u) => u.seq > seq);
      if (seq === this.updateSeq) this.project = saved;
    } catch (err) {
      this.unanswered = this.unanswered.filter((u) => u.seq !== seq);
      this.error = errorMessage(err);
    }
  }

  goto(step: WizardStep, extra: { configId?: number | null; runId?: number | null } = {}): Promise<void> {
    return this.update({ wizard: { step, ...extra } });
  }

  setUi(ui: ProjectUiState): Promise<void> {
    return this.update({ ui });
  }

  async loadSummary(): Promise<void> {
    if (this.summary || !this.project) return;
    try {
      this.summary = await runJob('model.summary', { path: this.modelPath }).result;
    } catch (err) {
      this.summaryError = errorMessage(err);
    }
  }

  /** layer name → op type and kernel rank, for validation */
  get modelLayers(): Record<string, { opType: string; kernelDims?: number }> | undefined {
    if (!this.summary) return undefined;
    return Object.fromEntries(this.summary.layers.filter((l) => l.quantizable).map((l) => [l.name, { opType: l.opType, kernelDims: l.kernelDims }]));
  }

  /** Run one job as the project's job: progress shown, run buttons disabled meanwhile. */
  async track<R>(label: string, start: (onProgress: (p: JobProgress) => void) => { result: Promise<R>; cancel: () => Promise<void> }): Promise<R> {
    if (this.job) throw new Error(`${this.job.label} is still running`);
    this.error = '';
    const active: ActiveJob = { label, progress: null, cancel: async () => undefined };
    this.job = active;
    try {
      const running = start((p) => {
        if (this.job) this.job.progress = p;
      });
      active.cancel = running.cancel;
      this.job = { ...active };
      return await running.result;
    } finally {
      this.job = null;
    }
  }

  async loadConfig(configId: number): Promise<void> {
    const { config } = await api().call('project.readConfig', { dir: this.dir, configId });
    this.draft = config as ConfigJson;
    this.draftConfigId = configId;
    this.draftDirty = false;
    this.draftUnparsed = false;
    this.storeDraft();
  }

  /** Make sure the draft holds the config the wizard points at. */
  async ensureDraft(): Promise<void> {
    const id = this.project?.wizard.configId ?? null;
    if (id !== null && this.draftConfigId !== id && !this.draftDirty) {
      try {
        await this.loadConfig(id);
      } catch (err) {
        this.error = errorMessage(err);
      }
    }
  }

  editDraft(next: ConfigJson): void {
    this.draft = next;
    this.draftDirty = true;
    this.storeDraft();
  }

  /** A new draft that is not a saved config (generated, imported). */
  newDraft(config: ConfigJson): void {
    this.draftConfigId = null;
    this.draftUnparsed = false;
    this.editDraft(config);
  }

  /** Save the draft as a new config entry (configs/NNN.json) and point the wizard at it. */
  async saveDraft(note: string, nextStep?: WizardStep): Promise<number> {
    if (!this.draft) throw new Error(t('session.noConfig'));
    const parent = this.draftConfigId ?? undefined;
    const { configId, project } = await api().call('project.saveConfig', { dir: this.dir, config: this.draft, note, parent });
    this.project = project;
    this.draftConfigId = configId;
    this.draftDirty = false;
    this.draftUnparsed = false;
    this.storeDraft();
    await this.update({ wizard: { configId, ...(nextStep ? { step: nextStep } : {}) } });
    return configId;
  }

  /** Save the draft, go to step 3 and run it there: what "Save config and re-run" promises. */
  async saveAndRun(note: string): Promise<number> {
    const configId = await this.saveDraft(note);
    this.runRequested = configId;
    await this.goto('quantize', { configId });
    return configId;
  }

  /**
   * Follow again a run or an analysis the backend is still working on (the
   * page was reloaded, or the project reopened while it ran): its progress in
   * the job bar, and the project re-read when it ends.
   */
  async reconnect(): Promise<void> {
    let running: ProjectJob[];
    try {
      running = (await api().call('project.jobs', { dir: this.dir })).jobs;
    } catch {
      return; // a backend without project.jobs: nothing to follow
    }
    const j = running[0];
    if (!j || this.job) return;
    const label = j.kind === 'run.quantize' ? t('job.quantizeRun', { id: String(j.runId) }) : t('job.analyzeRun', { id: String(j.runId) });
    try {
      await this.track(label, (onProgress) => {
        if (j.progress) onProgress(j.progress);
        const followed = followJob<unknown>(Promise.resolve(j.jobId), onProgress);
        // the job may have ended between the listing and the subscription: then no event comes
        const gone = api()
          .call('project.jobs', { dir: this.dir })
          .then((r) => (r.jobs.some((x) => x.jobId === j.jobId) ? new Promise<never>(() => undefined) : undefined));
        return { result: Promise.race([followed.result, gone]), cancel: followed.cancel };
      });
    } catch (err) {
      this.error = errorMessage(err);
    }
    if (j.kind === 'run.quantize') await this.refresh(ended(j.runId));
    else await this.refresh((p) => p.runs.some((r) => r.id === j.runId && (r.analyzed || r.analysisError !== undefined)));
    await this.readRun(j.runId, true).catch(() => undefined);
  }

  /** Quantize and evaluate with a saved config; resolves with the run's details once it ended. */
  async run(configId: number): Promise<RunDetails> {
    let runId = -1;
    await this.track(t('job.quantize'), (onProgress) => {
      const started = api()
        .call('project.startRun', { dir: this.dir, configId })
        .then((r) => {
          runId = r.runId;
          void this.update({ wizard: { runId: r.runId } });
          return r.jobId;
        });
      return followJob<RunResult>(started, onProgress);
    }).catch(async (err) => {
      if (runId >= 0) await this.refresh(ended(runId));
      throw err;
    });
    await this.refresh(ended(runId));
    return this.readRun(runId, true);
  }

  /** Run the analyzer on a finished run; `samples`: how many evaluation samples it compares (the backend's default: 32). */
  async analyze(runId: number, samples?: number): Promise<RunDetails> {
    await this.track(t('job.analyze'), (onProgress) =>
      followJob<AnalysisReport>(
        api()
          .call('project.analyze', { dir: this.dir, runId, ...(samples ? { samples } : {}) })
          .then((r) => r.jobId),
        onProgress,
      ),
    );
    await this.refresh((p) => p.runs.some((r) => r.id === runId && r.analyzed));
    return this.readRun(runId, true);
  }

  /**
   * A finished run as steps 4 and 5 start from it: its details, and its config
   * in the editor (unless the user has unsaved edits there).
   */
  async openRun(runId: number, fresh = false): Promise<RunDetails> {
    const details = await this.readRun(runId, fresh);
    const cfg = details.summary.configId;
    if (!this.unsaved && this.draftConfigId !== cfg) await this.loadConfig(cfg);
    return details;
  }

  async readRun(runId: number, fresh = false): Promise<RunDetails> {
    if (!fresh && this.runs[runId]?.result) return this.runs[runId];
    const details = await api().call('project.readRun', { dir: this.dir, runId });
    this.runs = { ...this.runs, [runId]: details };
    return details;
  }

  /**
   * Re-read project.json (runs and configs change as jobs end) with
   * project.get, which waits for the project's earlier writes and writes
   * nothing (project.open would take a run whose job just ended, but whose
   * result is not written yet, for one interrupted by a restart). `until` waits
   * for the project.changed event of the write that follows a job's end.
   */
  async refresh(until?: (p: ProjectFile) => boolean, timeoutMs = 10_000): Promise<void> {
    const dir = this.dir;
    let met: () => void = () => undefined;
    const satisfied = new Promise<void>((r) => (met = r));
    // an answer or event older than the project already shown never replaces it
    const take = (p: ProjectFile) => {
      if (!this.project || p.updatedAt >= this.project.updatedAt) this.adopt(p);
      if (!until || until(p)) met();
    };
    const off = api().onEvent((e) => {
      if (e.type === 'project.changed' && e.dir === dir) take(e.project);
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      take(await api().call('project.get', { dir }));
      await Promise.race([satisfied, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    } catch (err) {
      this.error = errorMessage(err);
    } finally {
      off();
      clearTimeout(timer);
    }
  }
}

const ended = (runId: number) => (p: ProjectFile) => p.runs.some((r) => r.id === runId && r.status !== 'running');

export function analysisOf(details: RunDetails | undefined): AnalysisReport | null {
  const a = details?.analysis as AnalysisReport | undefined;
  return a && Array.isArray(a.layers) ? a : null;
}
