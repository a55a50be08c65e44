/**
 * Walking a model: which files a signature covers and under which names.
 *
 * Follows the reference's enumeration (spec §7, §8) with the spec's stricter choices where they are
 * safer: symlinks are refused unless allowed, out-of-root targets and cycles are always errors,
 * special files are errors, names are canonical relative POSIX paths in UTF-8, and the git
 * defaults are excluded at the top level only.
 */
import { lstatSync, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, isAbsolute, relative, resolve, sep } from 'node:path';
import { fail, fsErrorText } from '../errors.js';
import { compareCodePoint } from '../manifest/order.js';

/** Excluded at the top level unless `ignoreGitPaths` is false (the reference's defaults). */
export const GIT_DEFAULT_EXCLUSIONS = ['.git', '.gitattributes', '.github', '.gitignore'] as const;

export interface WalkOptions {
  /** Absolute, or relative to the current directory (as the reference CLI resolves them). */
  ignorePaths?: string[];
  /** Default true. */
  ignoreGitPaths?: boolean;
  /** Default false. */
  allowSymlinks?: boolean;
  /** The signature file; excluded when it lies inside the model. */
  signaturePath?: string;
  /** `serialization.ignore_paths` from a bundle: relative to the model root. */
  recordedIgnorePaths?: string[];
}

export interface ModelFile {
  /** Canonical relative POSIX name (the basename for a single-file model). */
  name: string;
  /** Absolute path to read (the link's path when a file symlink is followed). */
  path: string;
  size: number;
}

export interface WalkResult {
  /** Absolute model path. */
  root: string;
  singleFile: boolean;
  /** Sorted by UTF-8 bytes (code-point order). */
  files: ModelFile[];
  /** Excluded roots relative to the model, as the bundle records them (`ignore_paths`). */
  excluded: string[];
}

/** The model's name as the reference writes it into `subject[0].name` (spec §6.4). */
export function modelNameOf(modelPath: string): string {
  const last = basename(modelPath.replace(/[/\\]+$/, ''));
  if (last !== '' && last !== '.' && last !== '..') return last;
  let real: string;
  try {
    real = realpathSync(resolve(modelPath));
  } catch {
    real = resolve(modelPath);
  }
  return basename(real) || 'model';
}

/** Turn a user path (absolute or cwd-relative) into a name relative to the model root, or undefined if outside. */
function relativeInside(root: string, realRoot: string, p: string): string | undefined {
  const abs = resolve(p);
  let canonical = abs;
  try {
    canonical = realpathSync(abs);
  } catch {
    // A path that does not exist is still a valid exclusion (e.g. the signature about to be written).
    try {
      canonical = resolve(realpathSync(resolve(abs, '..')), basename(abs));
    } catch {
      canonical = abs;
    }
  }
  for (const [base, candidate] of [
    [realRoot, canonical],
    [root, abs],
  ] as const) {
    const rel = relative(base, candidate);
    if (rel === '') return undefined; // excluding the model itself would exclude everything: ignore
    if (rel !== '..' && !rel.startsWith('..' + sep) && !isAbsolute(rel)) return rel.split(sep).join('/');
  }
  return undefined;
}

/**
 * A name from a bundle (a recorded `ignore_paths` entry, a signed resource) as a canonical path
 * relative to the root (`./a//b` → `a/b`); undefined when empty, absolute or holding `..`, since
 * such a name can only point outside the model.
 */
function bundleNameInside(name: string): string | undefined {
  if (typeof name !== 'string' || name === '' || isAbsolute(name)) return undefined;
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.includes('..')) return undefined;
  return parts.join('/');
}

export function isExcluded(name: string, excluded: readonly string[]): boolean {
  for (const ex of excluded) {
    if (name === ex || name.startsWith(ex + '/')) return true;
  }
  return false;
}

function decodeName(raw: Buffer, dirName: string): string {
  const s = raw.toString('utf8');
  if (!Buffer.from(s, 'utf8').equals(raw)) {
    throw fail('BAD_INPUT', `a file name in '${dirName || '.'}' is not valid UTF-8 and cannot be recorded in a signature`);
  }
  return s;
}

/**
 * The symlink rules, for the full walk and for signed names alike: refused unless allowed; when
 * allowed, broken links, links out of the model and cycles are errors, a file link is hashed
 * through to its target under the link's own name, and a directory link is never descended (the
 * reference's behaviour): undefined.
 */
function followSymlink(name: string, abs: string, dirAbs: string, realRoot: string, allowSymlinks: boolean): ModelFile | undefined {
  if (!allowSymlinks) {
    throw fail('BAD_INPUT', `cannot use '${name}' because it is a symlink (pass --allow-symlinks to follow file symlinks)`);
  }
  let target: string;
  let st: Stats;
  try {
    target = realpathSync(abs);
    st = statSync(abs);
  } catch (e) {
    throw fail('BAD_INPUT', `cannot use '${name}': broken symlink (${fsErrorText(e)})`);
  }
  const relTarget = relative(realRoot, target);
  const dirReal = realpathSync(dirAbs);
  if (st.isDirectory() && (dirReal === target || dirReal.startsWith(target + sep))) {
    throw fail('BAD_INPUT', `cannot use '${name}': the symlink makes a cycle (it points to ${relTarget === '' ? 'the model root' : 'a parent directory'})`);
  }
  if (relTarget === '..' || relTarget.startsWith('..' + sep) || isAbsolute(relTarget)) {
    throw fail('BAD_INPUT', `cannot use '${name}': the symlink points outside the model (${target})`);
  }
  if (st.isFile()) return { name, path: abs, size: st.size };
  if (st.isDirectory()) return undefined;
  throw fail('BAD_INPUT', `cannot use '${name}': not a regular file or directory`);
}

/** The exclusion rules of a model: what the bundle records, and everything matched (recorded entries too). */
function exclusions(root: string, realRoot: string, options: WalkOptions): { excluded: string[]; match: string[] } {
  const excluded = new Set<string>();
  if (options.ignoreGitPaths !== false) for (const g of GIT_DEFAULT_EXCLUSIONS) excluded.add(g);
  for (const p of options.ignorePaths ?? []) {
    const rel = relativeInside(root, realRoot, p);
    if (rel !== undefined) excluded.add(rel);
  }
  if (options.signaturePath) {
    const rel = relativeInside(root, realRoot, options.signaturePath);
    if (rel !== undefined) excluded.add(rel);
  }
  const recorded = new Set<string>();
  for (const p of options.recordedIgnorePaths ?? []) {
    const rel = bundleNameInside(p);
    if (rel !== undefined) recorded.add(rel);
  }
  return { excluded: [...excluded].sort(compareCodePoint), match: [...new Set([...excluded, ...recorded])] };
}

/**
 * The model path, absolute and real, with what it points to. A model path that is itself a
 * symlink needs `allowSymlinks`; an unreadable one is BAD_INPUT.
 */
function openRoot(modelPath: string, allowSymlinks: boolean): { root: string; realRoot: string; st: Stats } {
  const root = resolve(modelPath);
  let lst: Stats;
  try {
    lst = lstatSync(root);
  } catch (e) {
    throw fail('BAD_INPUT', `cannot read model path '${modelPath}': ${fsErrorText(e)}`);
  }
  if (lst.isSymbolicLink() && !allowSymlinks) {
    throw fail('BAD_INPUT', `cannot use '${modelPath}' because it is a symlink (pass --allow-symlinks to follow it)`);
  }
  try {
    return { root, st: statSync(root), realRoot: realpathSync(root) };
  } catch (e) {
    throw fail('BAD_INPUT', `cannot read model path '${modelPath}': ${fsErrorText(e)}`);
  }
}

/**
 * Look up signed names in a directory model under the walk's rules, without enumerating the
 * rest (verification with ignoreUnsignedFiles). Every directory on the way must be a real
 * directory (the walk never descends directory symlinks); a final symlink needs `allowSymlinks`
 * and must stay inside the model; special files are errors. A name that is missing or
 * excluded is left out (the comparison then reports it missing).
 */
export function lookupModelFiles(modelPath: string, names: readonly string[], options: WalkOptions = {}): ModelFile[] {
  const { root, realRoot } = openRoot(modelPath, options.allowSymlinks === true);
  const { match } = exclusions(root, realRoot, options);
  const files: ModelFile[] = [];
  for (const name of names) {
    const file = lookupOne(root, realRoot, match, name, options.allowSymlinks === true);
    if (file) files.push(file);
  }
  return files;
}

function lookupOne(root: string, realRoot: string, match: readonly string[], name: string, allowSymlinks: boolean): ModelFile | undefined {
  const rel = bundleNameInside(name);
  if (rel === undefined || isExcluded(rel, match)) return undefined;
  const parts = rel.split('/');
  let abs = root;
  for (const [i, part] of parts.entries()) {
    abs = resolve(abs, part);
    const shown = parts.slice(0, i + 1).join('/');
    let lst: Stats;
    try {
      lst = lstatSync(abs);
    } catch {
      return undefined;
    }
    const last = i === parts.length - 1;
    if (lst.isSymbolicLink()) {
      if (!last) throw fail('BAD_INPUT', `cannot use '${name}': '${shown}' is a symlink to a directory (directory links are not followed)`);
      return followSymlink(name, abs, resolve(abs, '..'), realRoot, allowSymlinks);
    }
    if (!last) {
      if (!lst.isDirectory()) return undefined;
      continue;
    }
    if (lst.isFile()) return { name, path: abs, size: lst.size };
    if (lst.isDirectory()) return undefined;
    throw fail('BAD_INPUT', `cannot use '${name}': not a regular file or directory (special files cannot be signed)`);
  }
  return undefined;
}

/**
 * Enumerate the files of a model (a directory or a single file).
 * Throws BAD_INPUT for a missing model, refused symlinks, special files and unreadable directories.
 */
export function walkModel(modelPath: string, options: WalkOptions = {}): WalkResult {
  const allowSymlinks = options.allowSymlinks === true;
  const { root, realRoot, st: rootSt } = openRoot(modelPath, allowSymlinks);
  const { excluded: excludedList, match: matchList } = exclusions(root, realRoot, options);

  if (rootSt.isFile()) {
    return { root, singleFile: true, files: [{ name: basename(root), path: root, size: rootSt.size }], excluded: excludedList };
  }
  if (!rootSt.isDirectory()) {
    throw fail('BAD_INPUT', `cannot use '${modelPath}': it is neither a regular file nor a directory`);
  }

  const files: ModelFile[] = [];
  const walkDir = (dirAbs: string, dirName: string): void => {
    let entries: Buffer[];
    try {
      entries = readdirSync(dirAbs, { encoding: 'buffer' });
    } catch (e) {
      throw fail('BAD_INPUT', `cannot read directory '${dirName || '.'}': ${fsErrorText(e)}`);
    }
    for (const raw of entries) {
      const entry = decodeName(raw, dirName);
      const name = dirName ? `${dirName}/${entry}` : entry;
      if (isExcluded(name, matchList)) continue;
      const abs = resolve(dirAbs, entry);
      let lst: Stats;
      try {
        lst = lstatSync(abs);
      } catch (e) {
        throw fail('BAD_INPUT', `cannot read '${name}': ${fsErrorText(e)}`);
      }
      if (lst.isSymbolicLink()) {
        const linked = followSymlink(name, abs, dirAbs, realRoot, allowSymlinks);
        if (linked) files.push(linked);
        continue;
      }
      if (lst.isDirectory()) walkDir(abs, name);
      else if (lst.isFile()) files.push({ name, path: abs, size: lst.size });
      else throw fail('BAD_INPUT', `cannot use '${name}': not a regular file or directory (special files cannot be signed)`);
    }
  };
  walkDir(root, '');
  files.sort((a, b) => compareCodePoint(a.name, b.name));
  return { root, singleFile: false, files, excluded: excludedList };
}
