import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const made: string[] = [];
process.on('exit', () => removeTempDirs());

/** A fresh folder `epsilab-<prefix>-*` under the system temp folder, removed when the test process ends (or by `removeTempDirs`). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `epsilab-${prefix}-`));
  made.push(dir);
  return dir;
}

/** Removes every folder `tempDir` made so far (a test file whose folders hold running daemons' state calls it after its tests). */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A fresh temp folder with these files written (paths relative to it). */
export function tempFiles(contents: Record<string, string>, prefix = 'files'): string {
  const dir = tempDir(prefix);
  for (const [name, text] of Object.entries(contents)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}
