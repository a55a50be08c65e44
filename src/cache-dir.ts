import { homedir } from 'node:os';
import { join } from 'node:path';

/** The user's modelseal cache: `$XDG_CACHE_HOME/modelseal`, by default `~/.cache/modelseal`. */
export function modelsealCacheDir(): string {
  const base = process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache');
  return join(base, 'modelseal');
}
