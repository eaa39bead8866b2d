// How a ProjectPatch changes a project: the backend applies it before saving,
// the renderer applies it at once so the UI does not wait for the save. One
// function, so the two can never disagree on what a patch means.

import type { ProjectPatch } from './api';
import type { ProjectFile } from './project';

/** Apply `patch` to `project` in place: wizard, ui, evaluation and calibration merge field by field, target is replaced. */
export function applyProjectPatch(project: ProjectFile, patch: ProjectPatch): void {
  if (patch.wizard) project.wizard = { ...project.wizard, ...patch.wizard };
  if (patch.ui) project.ui = { ...project.ui, ...patch.ui };
  if (patch.target) project.target = patch.target;
  if (patch.evaluation) project.evaluation = { ...project.evaluation, ...patch.evaluation };
  if (patch.calibration) project.calibration = { ...project.calibration, ...patch.calibration };
}

/** Whether the patch would change nothing in project.json (trusting an evaluator is kept in memory, not in the file). */
export function isEmptyPatch(patch: ProjectPatch): boolean {
  return !patch.wizard && !patch.ui && !patch.target && !patch.evaluation && !patch.calibration;
}
