// What a native build depends on, as one hash: the files it is built from and facts about the machine (the library it
// links, Node's module ABI). An install whose hash equals the last build's, with that build still there, does nothing.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** sha256 over `files` (relative to `dir`; a folder stands for every file under it), Node's module ABI and `facts`. */
export function fingerprint(dir, files, facts) {
  const hash = createHash('sha256');
  const all = files.flatMap((f) =>
    statSync(join(dir, f)).isDirectory()
      ? readdirSync(join(dir, f), { recursive: true })
          .map((g) => join(f, g))
          .filter((g) => statSync(join(dir, g)).isFile())
          .sort()
      : [f],
  );
  for (const file of all) hash.update(file).update(readFileSync(join(dir, file)));
  return hash.update(JSON.stringify([process.versions.modules, ...facts])).digest('hex');
}
