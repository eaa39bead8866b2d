// The record file: per layer scale_d, offset_d, scale_w[], offset_w[] in the
// protobuf text format AMCT writes (message ScaleOffsetRecord, one
// `record { key value { … } }` per layer). Scales are float32 fields there, so
// they are written as float32 with 6 significant digits when that reads back
// to the same float32 and 9 otherwise (as protobuf's own printer does).

import { QtuneError } from '../../shared/errors';

export interface RecordEntry {
  layer: string;
  scaleD: number;
  offsetD: number;
  scaleW: number[];
  offsetW: number[];
}

/** C's %.<p>g without trailing zeros, e.g. 1e-07, 0.00392156886. */
function formatG(v: number, p: number): string {
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const [mant, expText] = v.toExponential(p - 1).split('e');
  const exp = Number(expText);
  const strip = (s: string) => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  if (exp < -4 || exp >= p) {
    const sign = exp < 0 ? '-' : '+';
    const digits = String(Math.abs(exp)).padStart(2, '0');
    return `${strip(mant)}e${sign === '+' ? '+' : '-'}${digits}`;
  }
  return strip(v.toFixed(Math.max(0, p - 1 - exp)));
}

/** A float32 field value as text that reads back to the same float32. */
export function formatFloat32(value: number): string {
  const f = Math.fround(value);
  if (!Number.isFinite(f)) return Number.isNaN(f) ? 'nan' : f > 0 ? 'inf' : '-inf';
  const short = formatG(f, 6);
  return Math.fround(Number(short)) === f ? short : formatG(f, 9);
}

function quote(s: string): string {
  return `"${s.replace(/[\\"\n\r\t]/g, (c) => ({ '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c]!)}"`;
}

export function formatRecord(entries: RecordEntry[]): string {
  const lines: string[] = [];
  for (const e of entries) {
    if (e.offsetW.length !== e.scaleW.length) {
      throw new QtuneError('bad_record', `Layer "${e.layer}" has ${e.scaleW.length} scale_w but ${e.offsetW.length} offset_w values.`, { layer: e.layer });
    }
    lines.push('record {', `  key: ${quote(e.layer)}`, '  value {');
    lines.push(`    scale_d: ${formatFloat32(e.scaleD)}`, `    offset_d: ${Math.trunc(e.offsetD)}`);
    for (const s of e.scaleW) lines.push(`    scale_w: ${formatFloat32(s)}`);
    for (const o of e.offsetW) lines.push(`    offset_w: ${Math.trunc(o)}`);
    lines.push('  }', '}');
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

// ---- reading ----

type Token = { kind: 'ident' | 'string' | 'number' | 'punct'; text: string; line: number };

function tokenize(text: string, file?: string): Token[] {
  const out: Token[] = [];
  let line = 1;
  let i = 0;
  const fail = (msg: string) => {
    throw new QtuneError('bad_record', `${file ? `${file}:` : ''}${line}: ${msg}`, { file });
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '\n') {
      line++;
      i++;
    } else if (/\s/.test(c)) i++;
    else if (c === '#') while (i < text.length && text[i] !== '\n') i++;
    else if (c === '{' || c === '}' || c === ':' || c === ';' || c === ',') {
      out.push({ kind: 'punct', text: c, line });
      i++;
    } else if (c === '"' || c === "'") {
      // protobuf strings are UTF-8 bytes; octal escapes spell single bytes
      const bytes: number[] = [];
      const enc = new TextEncoder();
      i++;
      while (i < text.length && text[i] !== c) {
        if (text[i] === '\n') fail('unterminated string');
        if (text[i] === '\\') {
          const n = text[i + 1];
          const oct = /^[0-7]{1,3}/.exec(text.slice(i + 1));
          if (oct) {
            bytes.push(parseInt(oct[0], 8) & 0xff);
            i += 1 + oct[0].length;
            continue;
          }
          bytes.push(...enc.encode(({ n: '\n', r: '\r', t: '\t' } as Record<string, string>)[n] ?? n));
          i += 2;
        } else {
          const cp = text.codePointAt(i)!;
          const ch = String.fromCodePoint(cp);
          bytes.push(...enc.encode(ch));
          i += ch.length;
        }
      }
      if (i >= text.length) fail('unterminated string');
      i++;
      out.push({ kind: 'string', text: new TextDecoder().decode(Uint8Array.from(bytes)), line });
    } else {
      const m = /^[A-Za-z0-9_.+-]+/.exec(text.slice(i));
      if (!m) fail(`unexpected character ${JSON.stringify(c)}`);
      const t = m![0];
      out.push({ kind: /^[A-Za-z_]/.test(t) && !/^(inf|nan|infinity)$/i.test(t) ? 'ident' : 'number', text: t, line });
      i += t.length;
    }
  }
  return out;
}

function parseNumber(t: Token, file?: string): number {
  const lower = t.text.toLowerCase().replace(/f$/, '');
  const v = /^-?(inf|infinity)$/.test(lower) ? (lower.startsWith('-') ? -Infinity : Infinity) : /^-?nan$/.test(lower) ? NaN : Number(lower);
  if (Number.isNaN(v) && !/nan/.test(lower)) {
    throw new QtuneError('bad_record', `${file ? `${file}:` : ''}${t.line}: "${t.text}" is not a number`, { file });
  }
  return v;
}

/** Read a record file written by formatRecord or by AMCT. Fields other than the four scales/offsets are ignored. */
export function parseRecord(text: string, file?: string): RecordEntry[] {
  const toks = tokenize(text, file);
  let p = 0;
  const fail = (msg: string): never => {
    const line = toks[Math.min(p, toks.length - 1)]?.line ?? 1;
    throw new QtuneError('bad_record', `${file ? `${file}:` : ''}${line}: ${msg}`, { file });
  };
  const expect = (text: string) => {
    if (toks[p]?.text !== text || toks[p].kind === 'string') fail(`expected "${text}"${toks[p] ? `, found "${toks[p].text}"` : ' before the end'}`);
    p++;
  };
  const skipValue = () => {
    // field: scalar  |  field { … }  (the ':' before a message is optional)
    if (toks[p]?.text === ':') p++;
    if (toks[p]?.text === '{') {
      let depth = 0;
      do {
        if (p >= toks.length) fail('unbalanced braces');
        if (toks[p].kind === 'punct' && toks[p].text === '{') depth++;
        if (toks[p].kind === 'punct' && toks[p].text === '}') depth--;
        p++;
      } while (depth > 0);
    } else p++;
  };
  const entries: RecordEntry[] = [];
  while (p < toks.length) {
    const field = toks[p];
    if (field.kind !== 'ident') fail(`expected a field name, found "${field.text}"`);
    p++;
    if (field.text !== 'record') {
      skipValue();
      continue;
    }
    if (toks[p]?.text === ':') p++;
    expect('{');
    const e: Partial<RecordEntry> & { scaleW: number[]; offsetW: number[] } = { scaleW: [], offsetW: [] };
    while (toks[p] && !(toks[p].kind === 'punct' && toks[p].text === '}')) {
      const name = toks[p++];
      if (name.text === 'key') {
        expect(':');
        if (toks[p]?.kind !== 'string') fail('key must be a quoted string');
        e.layer = toks[p++].text;
      } else if (name.text === 'value') {
        if (toks[p]?.text === ':') p++;
        expect('{');
        while (toks[p] && !(toks[p].kind === 'punct' && toks[p].text === '}')) {
          const f = toks[p++];
          if (f.kind !== 'ident') fail(`expected a field name, found "${f.text}"`);
          if (['scale_d', 'offset_d', 'scale_w', 'offset_w'].includes(f.text)) {
            expect(':');
            if (toks[p]?.kind !== 'number') fail(`${f.text} needs a number`);
            const v = parseNumber(toks[p++], file);
            if (f.text === 'scale_d') e.scaleD = Math.fround(v);
            else if (f.text === 'offset_d') e.offsetD = v;
            else if (f.text === 'scale_w') e.scaleW.push(Math.fround(v));
            else e.offsetW.push(v);
          } else skipValue();
          if (toks[p]?.text === ';' || toks[p]?.text === ',') p++;
        }
        expect('}');
      } else skipValue();
    }
    expect('}');
    if (e.layer === undefined) fail('record without a key');
    if (e.scaleD === undefined) fail(`record "${e.layer}" has no scale_d`);
    entries.push({ layer: e.layer!, scaleD: e.scaleD!, offsetD: e.offsetD ?? 0, scaleW: e.scaleW, offsetW: e.offsetW });
  }
  return entries;
}
