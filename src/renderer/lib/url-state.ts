// The open project lives in the page's URL (`?project=<folder>` next to the
// token), so a reload, a bookmark or a second tab comes back to it.

const PARAM = 'project';

export function projectFromUrl(location: { search: string }): string | null {
  return new URLSearchParams(location.search).get(PARAM) || null;
}

/** The URL with the project set (or removed), everything else kept. */
export function urlWithProject(href: string, dir: string | null): string {
  const url = new URL(href);
  if (dir) url.searchParams.set(PARAM, dir);
  else url.searchParams.delete(PARAM);
  return url.toString();
}

export function setProjectInUrl(dir: string | null): void {
  const next = urlWithProject(window.location.href, dir);
  if (next !== window.location.href) window.history.replaceState(window.history.state, '', next);
}
