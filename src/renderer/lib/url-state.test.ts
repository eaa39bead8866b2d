import { describe, expect, it } from 'vitest';
import { projectFromUrl, urlWithProject } from './url-state';

describe('project in the URL', () => {
  it('sets and removes the project, keeping the token', () => {
    const href = urlWithProject('http://127.0.0.1:5000/?token=abc', '/home/u/qtune-projects/sample.qtune');
    expect(new URL(href).searchParams.get('token')).toBe('abc');
    expect(projectFromUrl(new URL(href))).toBe('/home/u/qtune-projects/sample.qtune');
    expect(projectFromUrl(new URL(urlWithProject(href, null)))).toBeNull();
    expect(new URL(urlWithProject(href, null)).searchParams.get('token')).toBe('abc');
  });
});
