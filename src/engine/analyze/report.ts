// The analyzer's report files: analysis.json (complete, re-readable),
// analysis.csv (one row per compared tensor, in the column style of the
// Ascend accuracy comparison tool: Index, OpType, TensorName, Shape, one
// column per metric) and analysis.html (self-contained: inline CSS and JS, no
// network, readable by someone without qtune).
import { mkdir, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeAnalysisReport, parseAnalysisReport } from '../../shared/analysis-file';
import { QtuneError } from '../../shared/errors';
import { METRIC_NAMES, type AnalysisReport, type LayerAnalysis, type TensorComparison } from '../../shared/analysis-types';

/** analysis.json's text (JSON cannot hold NaN / ±Infinity: they are written as strings; see src/shared/analysis-file.ts). */
export const reportToJson = encodeAnalysisReport;

/** A report read back from analysis.json's text (checked, migrated from older versions, numbers decoded). */
export const parseReportJson = parseAnalysisReport;

function num(v: number | undefined, digits = 6): string {
  if (v === undefined) return '';
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  if (v !== 0 && (Math.abs(v) < 1e-4 || Math.abs(v) >= 1e6)) return v.toExponential(digits - 1);
  return String(Number(v.toPrecision(digits)));
}

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per compared tensor, metrics as means over the samples, then the worst sample's cosine. */
export function reportToCsv(report: AnalysisReport): string {
  const header = ['Index', 'OpType', 'TensorName', 'Shape', ...METRIC_NAMES, 'QuantizedLayer', 'WorstCosineSimilarity', 'WorstSample', 'Samples'];
  const rows = report.tensors.map((t) => {
    const m = t.metrics;
    const metric = (name: (typeof METRIC_NAMES)[number]): string =>
      name === 'StandardDeviation'
        ? `(${num(m.quantMean.mean)};${num(m.quantStd.mean)})(${num(m.floatMean.mean)};${num(m.floatStd.mean)})`
        : num(m[name].mean);
    return [
      String(t.index), t.opType, t.name, `[${t.shape.join(',')}]`, ...METRIC_NAMES.map(metric),
      t.quantizedLayer?.name ?? '', num(m.CosineSimilarity.worst), String(m.CosineSimilarity.worstSample), String(t.samples),
    ].map(csvField).join(',');
  });
  return [header.join(','), ...rows].join('\n') + '\n';
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Sort key for a cell: numbers sort numerically (NaN last), text alphabetically. */
function cell(v: number | string | undefined, text?: string, style = ''): string {
  const key = typeof v === 'number' ? (Number.isNaN(v) ? '' : String(v)) : (v ?? '');
  const shown = text ?? (typeof v === 'number' ? num(v, 5) : esc(v ?? ''));
  return `<td data-v="${esc(key)}"${style ? ` style="${style}"` : ''}>${shown}</td>`;
}

interface HeatColumn {
  title: string;
  get: (l: LayerAnalysis) => number | undefined;
  /** 'lower' when a lower value is worse */
  worse: 'lower' | 'higher';
}

const HEAT_COLUMNS: HeatColumn[] = [
  { title: 'Accumulated cosine', get: (l) => l.accumulatedCosine, worse: 'lower' },
  { title: 'Cosine drop across layer', get: (l) => l.accumulatedCosineDrop, worse: 'higher' },
  { title: 'Accumulated SQNR (dB)', get: (l) => l.accumulatedSqnrDb, worse: 'lower' },
  { title: 'Isolated sensitivity', get: (l) => l.isolated?.sensitivity, worse: 'lower' },
  { title: 'Isolated SQNR (dB)', get: (l) => l.isolated?.sqnrDb, worse: 'lower' },
  { title: 'Weight cosine', get: (l) => l.weight?.cosine, worse: 'lower' },
  { title: 'Weight SQNR (dB)', get: (l) => l.weight?.sqnrDb, worse: 'lower' },
  { title: 'Gain if skipped', get: (l) => l.output?.gainIfSkipped, worse: 'higher' },
];

/** Colour by rank among the layers (0 = best, 1 = worst): robust to SQNR's wide range and to infinities. */
function heatStyles(layers: LayerAnalysis[], col: HeatColumn): string[] {
  const vals = layers.map((l) => col.get(l));
  const finite = vals.filter((v): v is number => v !== undefined && !Number.isNaN(v)).sort((a, b) => a - b);
  return vals.map((v) => {
    if (v === undefined) return 'background:#f3f3f3;color:#999';
    if (Number.isNaN(v)) return 'background:#c9b3e6';
    if (finite.length < 2 || finite[0] === finite[finite.length - 1]) return 'background:#e8f5e9';
    const below = finite.filter((x) => x < v).length / (finite.length - 1);
    const bad = col.worse === 'lower' ? 1 - below : below;
    const hue = Math.round(120 * (1 - bad)); // green → red
    return `background:hsl(${hue},70%,${85 - 20 * bad}%)`;
  });
}

function layerTable(report: AnalysisReport): string {
  const q = report.layers;
  const styles = HEAT_COLUMNS.map((c) => heatStyles(q, c));
  const head = ['Layer', 'Op', 'Quantized', 'Params', ...HEAT_COLUMNS.map((c) => c.title)];
  const rows = q.map((l, i) => {
    const tags = [l.isInputLayer ? 'input' : '', l.isOutputLayer ? 'output' : ''].filter(Boolean).join(', ');
    return `<tr>${cell(l.name, `${esc(l.name)}${tags ? ` <span class="tag">${tags}</span>` : ''}`)}${cell(l.opType)}${cell(l.quantized ? 'yes' : 'no')}${cell(l.paramCount)}${HEAT_COLUMNS.map((c, k) => cell(c.get(l), undefined, styles[k][i])).join('')}</tr>`;
  });
  return `<table class="sortable"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('\n')}</tbody></table>`;
}

function tensorTable(tensors: TensorComparison[]): string {
  const head = ['Index', 'Op', 'Tensor', 'Shape', 'Layer', ...METRIC_NAMES.filter((m) => m !== 'StandardDeviation'), 'Worst cosine', 'Worst sample'];
  const rows = tensors.map((t) => {
    const m = t.metrics;
    const metricCells = METRIC_NAMES.filter((n) => n !== 'StandardDeviation').map((n) => cell(m[n as keyof typeof m].mean));
    return `<tr${t.quantizedLayer ? ' class="q"' : ''}>${cell(t.index)}${cell(t.opType)}${cell(t.name)}${cell(`[${t.shape.join(', ')}]`)}${cell(t.quantizedLayer?.name ?? '')}${metricCells.join('')}${cell(m.CosineSimilarity.worst)}${cell(m.CosineSimilarity.worstSample)}</tr>`;
  });
  return `<table class="sortable"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('\n')}</tbody></table>`;
}

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}h1{font-size:22px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;font-size:12px}th,td{border:1px solid #ddd;padding:3px 6px;text-align:right;white-space:nowrap}
td:first-child,th:first-child{text-align:left}th{background:#f5f5f5;cursor:pointer;position:sticky;top:0}th.asc:after{content:" \\25B2"}th.desc:after{content:" \\25BC"}
tr.q td:nth-child(3){font-weight:600}.tag{font-size:10px;color:#555;background:#eee;border-radius:3px;padding:0 4px}
.warn{background:#fff4e5;border-left:4px solid #f0a020;padding:6px 10px;margin:4px 0}ol li{margin:6px 0}.muted{color:#777}
.scroll{max-height:70vh;overflow:auto}`;

const JS = `document.querySelectorAll('table.sortable').forEach(function(t){var ths=t.tHead.rows[0].cells;Array.prototype.forEach.call(ths,function(th,i){th.addEventListener('click',function(){var asc=!th.classList.contains('asc');Array.prototype.forEach.call(ths,function(h){h.classList.remove('asc','desc')});th.classList.add(asc?'asc':'desc');var rows=Array.prototype.slice.call(t.tBodies[0].rows);rows.sort(function(a,b){var x=a.cells[i].getAttribute('data-v'),y=b.cells[i].getAttribute('data-v');if(x===''&&y==='')return 0;if(x==='')return 1;if(y==='')return -1;var nx=Number(x),ny=Number(y);var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);return asc?c:-c});rows.forEach(function(r){t.tBodies[0].appendChild(r)})})})});`;

export function reportToHtml(report: AnalysisReport): string {
  const out = report.outputs.map((o) => `<li>${esc(o.name)}: cosine ${num(o.cosine)}, SQNR ${num(o.sqnrDb, 4)} dB</li>`).join('');
  const sugg = report.suggestions.length
    ? `<ol>${report.suggestions.map((s) => `<li><b>${esc(s.layer)}</b>${s.recommended ? ' <em>recommended</em>' : ''} (${esc(s.opType)}, score ${num(s.score, 3)}${s.expectedGain !== undefined ? `, expected output cosine gain ${num(s.expectedGain, 4)}` : ''})<ul>${s.reasons.map((r) => `<li>${esc(r.text)}</li>`).join('')}</ul></li>`).join('')}</ol>`
    : '<p>No layer needs to stay in float by these thresholds.</p>';
  const warn = report.warnings.map((w) => `<div class="warn">${esc(w.message)}</div>`).join('');
  const t = report.thresholds;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>qtune accuracy analysis</title><style>${CSS}</style></head><body>
<h1>Accuracy analysis</h1>
<p>Float model: <code>${esc(report.floatModel)}</code>${report.referenceModel !== report.floatModel ? ` (compared via <code>${esc(report.referenceModel)}</code>)` : ''}<br>
Quantized model: <code>${esc(report.quantModel)}</code><br>${report.samples} samples, ${esc(report.createdAt)}</p>
${warn}
<h2>Model outputs</h2><ul>${out || '<li class="muted">no model output was compared</li>'}</ul>
<h2>Suggested layers to keep in float</h2>
<p class="muted">Set <code>"quant_enable": false</code> for them in config.json, then quantize again. Thresholds: accumulated cosine ${t.accumulatedCosine}, isolated sensitivity ${t.isolatedSensitivity}, few parameters &lt; ${t.fewParameters}, weight cosine ${t.weightCosine}.</p>
${sugg}
<h2>Layers</h2>
<p class="muted">Colours rank each column among the layers (red = worst). <b>Accumulated</b>: the quantized model's tensor vs the float model's (all errors before it). <b>Isolated</b>: 0.5 + 0.5·cos of the layer quantized alone, fed the float input. <b>Weight</b>: float weights vs their int8 copy. Click a heading to sort.</p>
<div class="scroll">${layerTable(report)}</div>
<h2>All compared tensors</h2>
<p class="muted">Means over the samples. ${report.onlyInFloat.length} tensors only in the float model, ${report.onlyInQuant.length} only in the quantized model (not compared)${report.notCompared.length ? `, ${report.notCompared.length} not comparable` : ''}.</p>
<div class="scroll">${tensorTable(report.tensors)}</div>
<script>${JS}</script></body></html>
`;
}

export interface WrittenReports {
  json: string;
  csv: string;
  html: string;
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/** Write analysis.json, analysis.csv and analysis.html into `outDir` (created when missing). */
export async function writeReports(report: AnalysisReport, outDir: string): Promise<WrittenReports> {
  const files = { json: join(outDir, 'analysis.json'), csv: join(outDir, 'analysis.csv'), html: join(outDir, 'analysis.html') };
  try {
    await mkdir(outDir, { recursive: true });
    await writeAtomic(files.json, reportToJson(report));
    await writeAtomic(files.csv, reportToCsv(report));
    await writeAtomic(files.html, reportToHtml(report));
  } catch (e) {
    throw new QtuneError('analyze_write', `cannot write the analysis report to ${outDir}: ${(e as Error).message}`, { file: outDir });
  }
  return files;
}
