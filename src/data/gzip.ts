import { gunzipSync } from 'node:zlib';
import { InputError } from '../util/errors.js';

/** Gunzip, or an InputError naming the file when the gzip stream is truncated or damaged. */
export function gunzipFile(input: Uint8Array, name: string): Uint8Array {
  try {
    return gunzipSync(input);
  } catch (err) {
    throw new InputError(`${name}: damaged gzip data (${(err as Error).message}; the file is ${input.length} bytes, probably a partial download): replace the file (download it again, or delete it so that epsilab downloads it)`);
  }
}
