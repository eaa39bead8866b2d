import { describe, expect, it } from 'vitest';
import type { ProjectPatch, QtuneApi, QtuneEvent } from '../../shared/api';
import type { ProjectFile } from '../../shared/project';
import { applyProjectPatch } from '../../shared/project-patch';
import { Session } from './session.svelte';

const DIR = '/projects/p.qtune';

/**
 * The backend's side of project.update, one change at a time as the real one
 * does it (under the project's lock): the file is written, its project.changed
 * event goes out, then the answer. Each step waits to be let through, so a
 * test can put the event of one change after the next change was sent.
 */
class OrderedBackend implements QtuneApi {
  readonly host = 'browser' as const;
  private readonly listeners = new Set<(e: QtuneEvent) => void>();
  private readonly waiting: { patch: ProjectPatch; answer: (p: ProjectFile) => void }[] = [];

  constructor(private readonly file: ProjectFile) {}

  call(method: string, params: unknown): Promise<never> {
    if (method !== 'project.update') throw new Error(`not expected here: ${method}`);
    const { patch } = params as { patch: ProjectPatch };
    return new Promise<ProjectFile>((resolve) => this.waiting.push({ patch, answer: resolve })) as Promise<never>;
  }

  onEvent(listener: (e: QtuneEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Write the oldest change and send its event; returns the step that sends its answer. */
  writeNext(): () => void {
    const next = this.waiting.shift()!;
    applyProjectPatch(this.file, next.patch);
    for (const l of this.listeners) l({ type: 'project.changed', dir: DIR, project: structuredClone(this.file) } as QtuneEvent);
    const saved = structuredClone(this.file);
    return () => next.answer(saved);
  }
}

function projectFile(): ProjectFile {
  return {
    schemaVersion: 1, name: 'p', createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z',
    model: { path: 'm.onnx' }, calibration: { path: 'c.npy', batchSize: 8 }, evaluation: { path: 'e.npy', batchSize: 8, metric: { kind: 'top1' } },
    target: { maxDrop: 1 }, wizard: { step: 'history', configId: null, runId: null }, ui: {}, configs: [], runs: [],
  } as unknown as ProjectFile;
}

describe('Session', () => {
  it('keeps a change on its way when the event of an earlier one arrives (two quick ticks stay ticked)', async () => {
    const backend = new OrderedBackend(projectFile());
    window.qtune = backend;
    const session = new Session({ dir: DIR, project: projectFile(), warnings: [] });
    const first = session.setUi({ compareRuns: [3] });
    const second = session.setUi({ compareRuns: [3, 2] });
    expect(session.project!.ui.compareRuns).toEqual([3, 2]);
    // the first tick's file and event arrive after the second tick was made
    const answerFirst = backend.writeNext();
    expect(session.project!.ui.compareRuns).toEqual([3, 2]);
    answerFirst();
    await first;
    expect(session.project!.ui.compareRuns).toEqual([3, 2]);
    backend.writeNext()();
    await second;
    expect(session.project!.ui.compareRuns).toEqual([3, 2]);
    session.dispose();
  });
});
