import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** One path segment of a glob as a regular expression: `*` any run of characters but `/`, `?` one character. */
function segmentPattern(segment: string): RegExp {
  const body = segment
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

function subfolders(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

/** Folders under `root` matching `pattern` (`*`, `?`, and `**` for any depth), as paths relative to `root`. */
export function globFolders(root: string, pattern: string): string[] {
  const segments = pattern.split('/').filter((s) => s && s !== '.');
  const found = new Set<string>();
  const walk = (rel: string, i: number): void => {
    if (i === segments.length) return void found.add(rel);
    if (segments[i] === '**') {
      walk(rel, i + 1);
      for (const name of subfolders(join(root, rel))) walk(rel ? `${rel}/${name}` : name, i);
      return;
    }
    const match = segmentPattern(segments[i]);
    for (const name of subfolders(join(root, rel))) if (match.test(name)) walk(rel ? `${rel}/${name}` : name, i + 1);
  };
  walk('', 0);
  return [...found].sort();
}
