import { readFileSync } from 'node:fs';
import { fail, fsErrorText } from '../errors.js';

/**
 * The text of a file named on the command line (a key, a certificate). BAD_INPUT when it cannot
 * be read, naming `what` it should have held when the caller says.
 */
export function readInputFile(path: string, what?: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw fail('BAD_INPUT', `cannot read ${what ? `${what} ` : ''}'${path}': ${fsErrorText(e)}`);
  }
}
