import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { walkModel } from '../src/model/walk.js';
import { throwsCode } from './helpers/errors.js';
import { makeModel, tempDir } from './helpers/tmp.js';

const names = (root: string, o = {}): string[] => walkModel(root, o).files.map((f) => f.name);

const expectBadInput = (fn: () => unknown, pattern: RegExp): void => throwsCode(fn, 'BAD_INPUT', pattern);

describe('walking a model', () => {
  test('recurses, names are relative POSIX paths, empty files and dot-files included', () => {
    const root = makeModel({ 'a.bin': 'x', 'sub/deep/b.txt': 'y', 'empty': '', '.cache/c': 'z', 'with space.txt': 's' });
    assert.deepEqual(names(root), ['.cache/c', 'a.bin', 'empty', 'sub/deep/b.txt', 'with space.txt']);
    const sizes = Object.fromEntries(walkModel(root).files.map((f) => [f.name, f.size]));
    assert.equal(sizes['empty'], 0);
    assert.equal(sizes['a.bin'], 1);
  });

  test('orders names by code point (UTF-8 bytes), not UTF-16 units', () => {
    // U+FFFD sorts before U+1F600 by code point, after it in UTF-16 (surrogate D83D < FFFD).
    const root = makeModel({ '\u{1F600}.bin': '1', '\uFFFD.bin': '2', 'tokenizer.json': '3', 'tokenizer/vocab.txt': '4' });
    assert.deepEqual(names(root), ['tokenizer.json', 'tokenizer/vocab.txt', '\uFFFD.bin', '\u{1F600}.bin']);
  });

  test('a single file is named by its basename', () => {
    const root = makeModel({ 'model.onnx': 'w' });
    const r = walkModel(join(root, 'model.onnx'));
    assert.equal(r.singleFile, true);
    assert.deepEqual(r.files.map((f) => f.name), ['model.onnx']);
  });

  test('git defaults are excluded at the top level only, and recorded', () => {
    const root = makeModel({ '.git/HEAD': 'h', '.gitignore': 'g', '.gitattributes': 'a', '.github/w.yml': 'w', 'sub/.gitignore': 's', '.gitmodules': 'm', 'w.bin': 'x' });
    assert.deepEqual(names(root), ['.gitmodules', 'sub/.gitignore', 'w.bin']);
    assert.deepEqual(walkModel(root).excluded, ['.git', '.gitattributes', '.github', '.gitignore']);
    assert.deepEqual(names(root, { ignoreGitPaths: false }), ['.git/HEAD', '.gitattributes', '.github/w.yml', '.gitignore', '.gitmodules', 'sub/.gitignore', 'w.bin']);
  });

  test('the signature file inside the model is excluded', () => {
    const root = makeModel({ 'w.bin': 'x', 'model.sig': '{}' });
    assert.deepEqual(names(root, { signaturePath: join(root, 'model.sig') }), ['w.bin']);
    assert.ok(walkModel(root, { signaturePath: join(root, 'model.sig') }).excluded.includes('model.sig'));
  });

  test('ignore paths: absolute or relative to the current directory; a path outside the model excludes nothing', () => {
    const root = makeModel({ 'keep.bin': 'k', 'skip/a': 'a', 'skip-not/b': 'b', 'x/skip': 'c' });
    assert.deepEqual(names(root, { ignorePaths: [join(root, 'skip')] }), ['keep.bin', 'skip-not/b', 'x/skip']);
    assert.deepEqual(names(root, { ignorePaths: [relative(process.cwd(), join(root, 'skip'))] }), ['keep.bin', 'skip-not/b', 'x/skip']);
    // 'skip' relative to the cwd is not the model's skip/ (the reference resolves against the cwd).
    assert.deepEqual(names(root, { ignorePaths: ['skip'] }), ['keep.bin', 'skip-not/b', 'skip/a', 'x/skip']);
  });

  test('recorded ignore paths (from a bundle) apply; absolute and .. entries match nothing', () => {
    const root = makeModel({ 'a': '1', 'b/c': '2', 'd': '3' });
    assert.deepEqual(names(root, { recordedIgnorePaths: ['b', '/d', '../a'] }), ['a', 'd']);
  });

  test('a missing model path is a clear error', () => {
    expectBadInput(() => walkModel(join(tempDir(), 'nope')), /cannot read model path/);
  });

  test('symlinks are refused by default, including a symlinked model root', () => {
    const root = makeModel({ 'a.bin': 'x' });
    symlinkSync('a.bin', join(root, 'link.bin'));
    expectBadInput(() => walkModel(root), /'link\.bin' because it is a symlink/);
    const linkRoot = join(tempDir(), 'rootlink');
    symlinkSync(root, linkRoot);
    expectBadInput(() => walkModel(linkRoot), /symlink/);
  });

  test('allowed file symlinks are followed under their own name', () => {
    const root = makeModel({ 'a.bin': 'xyz' });
    symlinkSync('a.bin', join(root, 'link.bin'));
    const files = walkModel(root, { allowSymlinks: true }).files;
    assert.deepEqual(files.map((f) => [f.name, f.size]), [['a.bin', 3], ['link.bin', 3]]);
  });

  test('out-of-root targets are errors even when symlinks are allowed', () => {
    const outside = makeModel({ 'secret': 's' });
    const root = makeModel({ 'a.bin': 'x' });
    symlinkSync(join(outside, 'secret'), join(root, 'leak'));
    expectBadInput(() => walkModel(root, { allowSymlinks: true }), /points outside the model/);
  });

  test('cycles are errors even when symlinks are allowed', () => {
    const root = makeModel({ 'a.bin': 'x' });
    mkdirSync(join(root, 'sub'));
    symlinkSync('..', join(root, 'sub', 'up'));
    expectBadInput(() => walkModel(root, { allowSymlinks: true }), /cycle/);
    const root2 = makeModel({ 'a.bin': 'x' });
    symlinkSync('.', join(root2, 'self'));
    expectBadInput(() => walkModel(root2, { allowSymlinks: true }), /cycle/);
  });

  test('broken symlinks are errors when allowed', () => {
    const root = makeModel({ 'a.bin': 'x' });
    symlinkSync('missing', join(root, 'dangling'));
    expectBadInput(() => walkModel(root, { allowSymlinks: true }), /broken symlink/);
  });

  test('special files (a FIFO) are refused', () => {
    const root = makeModel({ 'a.bin': 'x' });
    execFileSync('mkfifo', [join(root, 'pipe')]);
    expectBadInput(() => walkModel(root), /'pipe': not a regular file/);
  });

  test('a file name that is not valid UTF-8 is refused', () => {
    const root = makeModel({ 'a.bin': 'x' });
    // Create the name through a Buffer path: 0xff is never valid UTF-8.
    writeFileSync(Buffer.concat([Buffer.from(root + '/'), Buffer.from([0x66, 0xff])]), 'bad');
    expectBadInput(() => walkModel(root), /not valid UTF-8/);
  });
});
