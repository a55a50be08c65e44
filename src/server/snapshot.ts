/**
 * Private snapshots: "what is run is what was verified". A model folder is copied into a fresh
 * directory only the server can read (mkdtemp, 0700); the snapshot is verified, then pruned to the
 * verified files, and the runtime loads only from it. A file swapped in the original after (or
 * during) the copy is never served: either the snapshot holds the swapped bytes and fails
 * verification, or it holds the verified bytes.
 */
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, open, readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { modelsealCacheDir } from '../cache-dir.js';
import { fail } from '../errors.js';
import { GIT_DEFAULT_EXCLUSIONS, isExcluded } from '../model/walk.js';

export interface SnapshotOptions {
  /** Parent directory for the snapshot (default: defaultSnapshotParent()). */
  parentDir?: string;
  /** Called after each file is copied, with its relative POSIX name (tests use it to tamper mid-copy). */
  onFileCopied?: (name: string, snapshotDir: string) => void | Promise<void>;
  /** Upper bound on the total bytes copied (default: unlimited). */
  maxBytes?: number;
}

export interface Snapshot {
  dir: string;
  /** Relative POSIX names of the copied files, sorted. */
  files: string[];
  bytes: number;
}

const CHUNK = 1 << 20;

async function copyRegularFile(src: string, dst: string, name: string): Promise<number> {
  // O_NOFOLLOW: a file swapped for a symlink between the listing and the open is refused.
  const inH = await open(src, constants.O_RDONLY | constants.O_NOFOLLOW).catch((e: NodeJS.ErrnoException) => {
    throw fail('BAD_INPUT', `cannot copy '${name}' from the model folder: ${e.code === 'ELOOP' ? 'it is a symlink' : e.code ?? e}`);
  });
  try {
    const st = await inH.stat();
    if (!st.isFile()) throw fail('BAD_INPUT', `cannot copy '${name}': not a regular file`);
    const outH = await open(dst, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    let total = 0;
    try {
      const buf = Buffer.allocUnsafe(CHUNK);
      for (;;) {
        const { bytesRead } = await inH.read(buf, 0, CHUNK, null);
        if (bytesRead === 0) break;
        await outH.write(buf, 0, bytesRead);
        total += bytesRead;
      }
    } finally {
      await outH.close();
    }
    return total;
  } finally {
    await inH.close();
  }
}

/**
 * Snapshots live under the user's cache directory (made 0700), not in the world-writable temp
 * directory: a verified custom runtime's bare imports resolve `node_modules` up the snapshot's
 * path, and any local user could plant `/tmp/node_modules`.
 */
export function defaultSnapshotParent(): string {
  return join(modelsealCacheDir(), 'snapshots');
}

/** Copy `folder` into a new private snapshot. Refuses symlinks and special files; skips top-level git metadata. */
export async function createSnapshot(folder: string, options: SnapshotOptions = {}): Promise<Snapshot> {
  const rootSt = await lstat(folder).catch((e: NodeJS.ErrnoException) => {
    throw fail('BAD_INPUT', `cannot read model folder '${folder}': ${e.code ?? e}`);
  });
  if (!rootSt.isDirectory()) throw fail('BAD_INPUT', `model folder '${folder}' is not a directory (symlinks are refused)`);
  const parent = options.parentDir ?? defaultSnapshotParent();
  if (!options.parentDir) {
    await mkdir(parent, { recursive: true, mode: 0o700 });
    await chmod(parent, 0o700);
  }
  const dir = await mkdtemp(join(parent, 'modelseal-snapshot-'));
  await chmod(dir, 0o700);
  const files: string[] = [];
  let bytes = 0;
  const walk = async (srcDir: string, dstDir: string, prefix: string): Promise<void> => {
    const entries = (await readdir(srcDir)).sort();
    for (const e of entries) {
      const name = prefix ? `${prefix}/${e}` : e;
      if (isExcluded(name, GIT_DEFAULT_EXCLUSIONS)) continue;
      const src = join(srcDir, e);
      const st = await lstat(src);
      if (st.isSymbolicLink()) throw fail('BAD_INPUT', `refusing '${name}' in the model folder: symlinks are not served`);
      if (st.isDirectory()) {
        await mkdir(join(dstDir, e), { mode: 0o700 });
        await walk(src, join(dstDir, e), name);
      } else if (st.isFile()) {
        bytes += await copyRegularFile(src, join(dstDir, e), name);
        if (options.maxBytes !== undefined && bytes > options.maxBytes) throw fail('BAD_INPUT', `model folder is larger than ${options.maxBytes} bytes`);
        files.push(name);
        if (options.onFileCopied) await options.onFileCopied(name, dir);
      } else {
        throw fail('BAD_INPUT', `refusing '${name}' in the model folder: not a regular file or directory`);
      }
    }
  };
  try {
    await walk(folder, dir, '');
  } catch (e) {
    await removeSnapshot(dir);
    throw e;
  }
  return { dir, files, bytes };
}

/** Delete every file of the snapshot that is not in `keep` (relative POSIX names). Returns the removed names. */
export async function pruneSnapshot(snapshot: Snapshot, keep: ReadonlySet<string>): Promise<string[]> {
  const removed: string[] = [];
  for (const name of snapshot.files) {
    if (keep.has(name)) continue;
    await unlink(join(snapshot.dir, ...name.split('/')));
    removed.push(name);
  }
  snapshot.files = snapshot.files.filter((n) => keep.has(n));
  return removed;
}

export async function removeSnapshot(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true }).catch(() => undefined);
}
