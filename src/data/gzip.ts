import { constants } from 'node:buffer';
import { gunzipSync } from 'node:zlib';
import { InputError } from '../util/errors.js';

/**
 * Gunzip, or an InputError naming the file when the gzip stream is truncated or damaged. Inflating stops at
 * `maxOutputLength` bytes with Node's ERR_BUFFER_TOO_LARGE, which the caller words.
 */
export function gunzipFile(input: Uint8Array, name: string, maxOutputLength = constants.MAX_LENGTH): Uint8Array {
  try {
    return gunzipSync(input, { maxOutputLength });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw err;
    throw new InputError(
      `${name}: damaged gzip data (${(err as Error).message}; the file is ${input.length} bytes, probably a partial download): replace the file (download it again, or delete it so that epsilab downloads it)`,
    );
  }
}
