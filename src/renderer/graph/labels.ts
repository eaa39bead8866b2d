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
