/**
 * Resource orderings (spec §6.3). We sign in code-point order; the reference sorts by path
 * components and numeric shard offsets. Verification never re-sorts (the root covers listed order).
 */

/**
 * Unicode code-point order. UTF-8 byte order equals code-point order, whereas JS `<` compares
 * UTF-16 code units and misorders astral characters against U+E000..U+FFFF.
 */
export function compareCodePoint(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

const SHARD_NAME = /^(.*):(\d+):(\d+)$/s;

function compareComponentLists(a: string[], b: string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareCodePoint(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

function components(path: string): string[] {
  // PurePosixPath parts: empty and "." segments vanish.
  return path.split('/').filter((part) => part !== '' && part !== '.');
}

/**
 * The reference's order: names compared as lists of path components (`a/b` < `a b`), and shard
 * names `path:start:end` compared by path components, then numeric start, then numeric end.
 * Names that look like shards are compared as shards only when both do.
 */
export function compareReference(a: string, b: string): number {
  const sa = SHARD_NAME.exec(a);
  const sb = SHARD_NAME.exec(b);
  if (sa && sb) {
    const c = compareComponentLists(components(sa[1]!), components(sb[1]!));
    if (c !== 0) return c;
    const startA = BigInt(sa[2]!);
    const startB = BigInt(sb[2]!);
    if (startA !== startB) return startA < startB ? -1 : 1;
    const endA = BigInt(sa[3]!);
    const endB = BigInt(sb[3]!);
    if (endA !== endB) return endA < endB ? -1 : 1;
    return 0;
  }
  return compareComponentLists(components(a), components(b));
}
