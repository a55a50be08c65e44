/**
 * Comparing the signed manifest with the one computed from disk (spec §10.1 step 9, §10.2):
 * maps name → (algorithm, digest); order, model name and serialization are not compared.
 */
import { compareCodePoint } from './order.js';
import { normalizeResourceName } from './statement.js';
import type { ManifestDiff, ManifestItem } from './types.js';

/** `sha256-sharded-8` (reference shard label) and `sha256` name the same hash. */
function canonicalLabel(algorithm: string): string {
  return algorithm.replace(/-sharded-\d+(?:\.0+)?$/, '');
}

function toMap(items: readonly ManifestItem[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const item of items) {
    map.set(normalizeResourceName(item.name), `${canonicalLabel(item.algorithm)}:${item.digest.toLowerCase()}`);
  }
  return map;
}

/**
 * `expected` is what the signature lists, `actual` what is on disk. `extra` is always filled in:
 * tolerating unsigned files (ignoreUnsignedFiles) is the caller's decision.
 */
export function compareManifests(expected: readonly ManifestItem[], actual: readonly ManifestItem[]): ManifestDiff {
  const signed = toMap(expected);
  const onDisk = toMap(actual);
  const changed: string[] = [];
  const missing: string[] = [];
  const extra: string[] = [];
  for (const [name, value] of signed) {
    const found = onDisk.get(name);
    if (found === undefined) missing.push(name);
    else if (found !== value) changed.push(name);
  }
  for (const name of onDisk.keys()) if (!signed.has(name)) extra.push(name);
  return { changed: changed.sort(compareCodePoint), missing: missing.sort(compareCodePoint), extra: extra.sort(compareCodePoint) };
}

const MAX_NAMES_SHOWN = 10;

function list(names: readonly string[]): string {
  const shown = names.slice(0, MAX_NAMES_SHOWN).join(', ');
  return names.length > MAX_NAMES_SHOWN ? `${shown} and ${names.length - MAX_NAMES_SHOWN} more` : shown;
}

/**
 * One line for humans, e.g. `changed: weights.bin; missing: a.txt; extra: b.txt` (callers add
 * their own prefix). Empty categories are left out; long lists are cut after ten names.
 * `modelName` only appears when there is no difference at all.
 */
export function describeDiff(diff: ManifestDiff, modelName: string): string {
  const parts: string[] = [];
  if (diff.changed.length > 0) parts.push(`changed: ${list(diff.changed)}`);
  if (diff.missing.length > 0) parts.push(`missing: ${list(diff.missing)}`);
  if (diff.extra.length > 0) parts.push(`extra: ${list(diff.extra)}`);
  if (parts.length === 0) return `model '${modelName}' matches its signature`;
  return parts.join('; ');
}
