// The one reader and writer of the analyzer's report file (analysis.json):
// the engine writes and re-reads it, the backend hands it to the renderer.
// JSON cannot hold NaN or ±Infinity (a cosine with one side all zero, the SQNR
// of identical tensors), so the file holds them as the strings "NaN",
// "Infinity", "-Infinity"; decoding turns them back into numbers. Pure (no
// file access).

import { QtuneError } from './errors';
import type { AnalysisReport, AnalysisWarningCode } from './analysis-types';

/** The report's schema version this build writes and reads. 1: warning codes in kebab-case; 2: snake_case. */
export const ANALYSIS_REPORT_VERSION = 2;

/** A number as the file holds it. */
export type EncodedNumber = number | 'NaN' | 'Infinity' | '-Infinity';

/** A value as analysis.json holds it: every number may be one of the encoded non-finite strings. */
export type Encoded<T> = T extends number
  ? EncodedNumber
  : T extends (infer E)[]
    ? Encoded<E>[]
    : T extends object
      ? { [K in keyof T]: Encoded<T[K]> }
      : T;

/** The report as analysis.json holds it (and as the backend hands it on): see decodeAnalysisReport. */
export type EncodedAnalysisReport = Encoded<AnalysisReport>;

/** Warning codes of version 1 reports, by their version 2 name. */
const WARNING_CODES_V1: Record<string, AnalysisWarningCode> = {
  'few-samples': 'few_samples', 'fused-rebuilt-differs': 'fused_rebuilt_differs', 'isolated-failed': 'isolated_failed',
  'layer-not-in-float': 'layer_not_in_float', 'no-provenance': 'no_provenance', 'no-quantized-layers': 'no_quantized_layers',
  'not-qdq': 'not_qdq', 'output-close': 'output_close', 'output-sensitivity-budget': 'output_sensitivity_budget', 'qdq-layer': 'qdq_layer',
  'stats-unmatched': 'stats_unmatched', 'weight-error-failed': 'weight_error_failed',
};

/** Upgrades, one step each: version n → n + 1. */
const MIGRATIONS: Record<number, (old: Record<string, unknown>) => Record<string, unknown>> = {
  1: (old) => ({
    ...old,
    version: 2,
    warnings: Array.isArray(old.warnings)
      ? old.warnings.map((w) => (w && typeof w === 'object' && typeof w.code === 'string' ? { ...w, code: WARNING_CODES_V1[w.code] ?? w.code } : w))
      : old.warnings,
  }),
};

/** analysis.json's text for a report (non-finite numbers as strings). */
export function encodeAnalysisReport(report: AnalysisReport): string {
  return JSON.stringify(report, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2);
}

/**
 * A parsed analysis.json checked and brought to the current version, numbers
 * still encoded (what crosses a JSON transport unharmed); a report from a
 * newer qtune, or not a report, is a clear error naming the file.
 */
export function migrateAnalysisReport(json: unknown, file = 'analysis.json'): EncodedAnalysisReport {
  const bad = (what: string) => new QtuneError('analysis_invalid', `${file} is not a qtune analysis report: ${what}`, { file });
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('expected a JSON object');
  let doc = json as Record<string, unknown>;
  let version = doc.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) throw bad('no schema version');
  if (version > ANALYSIS_REPORT_VERSION) {
    throw new QtuneError('analysis_invalid', `${file} was written by a newer qtune (report version ${version}; this one reads up to ${ANALYSIS_REPORT_VERSION})`, { file });
  }
  for (; version < ANALYSIS_REPORT_VERSION; version++) doc = MIGRATIONS[version](doc);
  for (const key of ['layers', 'tensors', 'suggestions', 'warnings', 'outputs']) if (!Array.isArray(doc[key])) throw bad(`"${key}" must be a list`);
  return doc as unknown as EncodedAnalysisReport;
}

/** The report with its numbers decoded (NaN and ±Infinity back as numbers). */
export function decodeAnalysisReport(report: EncodedAnalysisReport): AnalysisReport {
  const revive = (v: unknown): unknown => {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    if (Array.isArray(v)) return v.map(revive);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
    return v;
  };
  return revive(report) as AnalysisReport;
}

/** Read analysis.json's text: parse, check, migrate, decode. */
export function parseAnalysisReport(text: string, file = 'analysis.json'): AnalysisReport {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new QtuneError('analysis_invalid', `${file} is not valid JSON: ${(e as Error).message}`, { file });
  }
  return decodeAnalysisReport(migrateAnalysisReport(json, file));
}
