// Short labels for node boxes. Layer names from exporters are long paths
// ("/backbone/stage3/block2/conv1/Conv"); the tail says the most, so we keep
// the last segments and elide the middle of what is still too long.

/** Keep the last two path segments of a name and at most `maxChars` characters. */
export function shortenName(name: string, maxChars = 24): string {
  const parts = name.split(/[/.:]/).filter((p) => p.length > 0);
  let short = parts.length > 2 ? parts.slice(-2).join('/') : name;
  if (short.length > maxChars) {
    const keep = maxChars - 1;
    const head = Math.ceil(keep / 2);
    short = short.slice(0, head) + '…' + short.slice(short.length - (keep - head));
  }
  return short;
}

/** Display label of a graph input / output endpoint id (`input:<name>`, `output:<name>`). */
export function endpointLabel(id: string): string {
  const colon = id.indexOf(':');
  return shortenName(colon >= 0 ? id.slice(colon + 1) : id);
}

/** Rough text width for box sizing in a worker, where there is no canvas to measure with. */
export function estimateTextWidth(text: string, pxPerChar = 6.6): number {
  return text.length * pxPerChar;
}

/** "3x3" or "3,3" → "3×3"; a list of equal values → that value once ("2,2" → "2"). */
function dims(v: string, collapse: boolean): string {
  const parts = v.split(/[x,]/).map((p) => p.trim()).filter((p) => p.length > 0);
  if (collapse && parts.length > 0 && parts.every((p) => p === parts[0])) return parts[0];
  return parts.join('×');
}

/**
 * The attributes that say what a node does, in a node box's second line, as
 * Netron shows them: kernel, stride, dilation, groups ("3×3 s2 g32"); the axis of
 * a Concat, Softmax and the like. Defaults (stride 1, group 1) are left out.
 */
export function attrSummary(attrs: Record<string, string> | undefined): string {
  if (!attrs) return '';
  const out: string[] = [];
  if (attrs.kernel_shape) out.push(dims(attrs.kernel_shape, false));
  if (attrs.strides && dims(attrs.strides, true) !== '1') out.push(`s${dims(attrs.strides, true)}`);
  if (attrs.dilations && dims(attrs.dilations, true) !== '1') out.push(`d${dims(attrs.dilations, true)}`);
  if (attrs.group && attrs.group !== '1') out.push(`g${attrs.group}`);
  if (out.length === 0 && attrs.axis !== undefined) out.push(`axis ${attrs.axis}`);
  if (out.length === 0 && attrs.perm !== undefined) out.push(`perm ${attrs.perm}`);
  return out.join(' ');
}

/**
 * A tensor shape as an edge label: [1, 3, 224, 224] → "1×3×224×224"; a scalar →
 * "scalar". A long symbolic dimension ("p2o.DynamicDimension.0") shows as "?":
 * the full shape is in the side panel.
 */
export function shapeLabel(shape: readonly (number | string)[] | undefined): string {
  if (!shape) return '';
  if (shape.length === 0) return 'scalar';
  return shape.map((d) => (typeof d === 'string' && d.length > 8 ? '?' : d)).join('×');
}
