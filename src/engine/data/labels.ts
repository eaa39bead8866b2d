// Labels: integer class indices, one per sample, from an .npy/.npz array, a
// CSV/TXT file, or the class folders of an ImageNet-style image tree; or, from
// a .txt of one label per line that are not all integers (transcriptions,
// captions, names), text labels that only a custom evaluator reads.

import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { QtuneError } from '../../shared/errors';
import type { LabelSource } from '../../shared/dataset-schema';
import { readElement } from './cast';
import { readNpy, readNpz, type NdArray } from './npy';
import { relativeImagePath, type SampleSource } from './sources';

function labelsFromArray(arr: NdArray, file: string): Int32Array {
  // [N] or [N, 1]; one-hot [N, C] is a different thing and is refused.
  if (!(arr.shape.length === 1 || (arr.shape.length === 2 && arr.shape[1] === 1))) {
    throw new QtuneError('labels_invalid', `${file}: labels must have shape [N] or [N, 1], found [${arr.shape.join(', ')}]`, {
      file,
      hint: 'for one-hot labels save labels.argmax(axis=1)',
    });
  }
  const out = new Int32Array(arr.shape[0]);
  for (let i = 0; i < out.length; i++) {
    const v = readElement(arr.data, arr.dtype, i);
    if (!Number.isInteger(v) || v < 0) {
      throw new QtuneError('labels_invalid', `${file}: label ${i} is ${v}; labels must be non-negative integer class indices`, { file });
    }
    out[i] = v;
  }
  return out;
}

const isInteger = (s: string): boolean => /^[+]?\d+$/.test(s);

interface TextLabels {
  labels: number[];
  /** file names from a `file,label` layout, else undefined */
  names?: string[];
}

/** Parses `file,label` rows (header optional; comma, tab or semicolon) or one label per line. */
export function parseLabelText(text: string, file: string): TextLabels {
  const lines = text.split(/\r?\n/).map((l, i) => ({ text: l.trim(), line: i + 1 })).filter((l) => l.text.length > 0);
  if (lines.length === 0) throw new QtuneError('labels_invalid', `${file} is empty`, { file });
  const split = (s: string): string[] => s.split(/[,\t;]/).map((c) => c.trim());
  const twoColumns = split(lines[0].text).length >= 2 || (lines.length > 1 && split(lines[1].text).length >= 2);
  const cell = (s: string): string => (twoColumns ? split(s)[1] ?? '' : s);
  // A first row whose label cell is not a number is a header (e.g. "file,label").
  const rows = !isInteger(cell(lines[0].text)) ? lines.slice(1) : lines;
  const labels: number[] = [];
  const names: string[] = [];
  for (const row of rows) {
    const value = cell(row.text);
    if (!isInteger(value)) {
      throw new QtuneError('labels_invalid', `${file}:${row.line}: label '${value}' is not a non-negative integer`, { file });
    }
    labels.push(Number(value));
    if (twoColumns) names.push(split(row.text)[0]);
  }
  return { labels, names: twoColumns ? names : undefined };
}

/** Matches `file,label` rows to image samples by relative path, then by bare file name. */
function matchByName(parsed: TextLabels & { names: string[] }, samples: SampleSource, file: string): Int32Array {
  const byName = new Map<string, number>();
  parsed.names.forEach((n, i) => byName.set(n.replace(/\\/g, '/').replace(/^\.\//, ''), parsed.labels[i]));
  const out = new Int32Array(samples.files!.length);
  const missing: string[] = [];
  samples.files!.forEach((f, i) => {
    const rel = relativeImagePath(samples.root!, f);
    const v = byName.get(rel) ?? byName.get(basename(f));
    if (v === undefined) missing.push(rel);
    else out[i] = v;
  });
  if (missing.length > 0) {
    throw new QtuneError(
      'labels_invalid',
      `${file} has no label for ${missing.length} image(s): ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`,
      { file },
    );
  }
  return out;
}

/**
 * Text labels from a one-label-per-line `.txt` whose lines are not all integers: every line as it is
 * (a trailing newline ends the last line, it adds none; an empty line is an empty label, as an OCR
 * transcription of a blank image would be). Undefined when the file reads as integer labels.
 */
export function parseTextLabels(text: string): string[] | undefined {
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  const values = lines.map((l) => l.trim()).filter((l) => l.length > 0);
  // integers, possibly under a header line: the integer form (parseLabelText)
  if (values.length === 0 || values.every(isInteger) || (values.length > 1 && values.slice(1).every(isInteger))) return undefined;
  return lines;
}

/** Labels as integer class indices, or as text (a `.txt` of labels that are not all integers). */
export type LoadedLabels = Int32Array | string[];

/**
 * Reads labels for `samples` (the first input's source: it decides order and
 * names). Paths are absolute. The count is checked by the caller.
 */
export async function loadLabels(src: LabelSource, samples: SampleSource): Promise<LoadedLabels> {
  if ('npy' in src) return labelsFromArray(await readNpy(src.npy), src.npy);
  if ('npz' in src) {
    const arr = (await readNpz(src.npz)).get(src.key);
    if (!arr) throw new QtuneError('labels_invalid', `${src.npz} has no array '${src.key}'`, { file: src.npz, path: 'labels.key' });
    return labelsFromArray(arr, `${src.npz}[${src.key}]`);
  }
  if ('folders' in src) {
    if (!samples.classOf) {
      throw new QtuneError('labels_invalid', `labels from folders need an image folder with one sub-folder per class; ${samples.describe} is not laid out that way`, {
        path: 'labels.folders',
      });
    }
    return samples.classOf;
  }
  const file = 'csv' in src ? src.csv : src.txt;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new QtuneError('file_not_readable', `cannot read ${file}: ${(err as Error).message}`, { file });
  }
  if ('txt' in src) {
    const lines = parseTextLabels(text);
    if (lines) return lines;
  }
  const parsed = parseLabelText(text, file);
  if (parsed.names && samples.files) return matchByName({ ...parsed, names: parsed.names }, samples, file);
  return Int32Array.from(parsed.labels);
}
