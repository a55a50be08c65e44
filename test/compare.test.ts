import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareManifests, describeDiff } from '../src/manifest/compare.js';
import type { ManifestItem } from '../src/manifest/types.js';

const D1 = '1'.repeat(64);
const D2 = '2'.repeat(64);
const item = (name: string, digest = D1, algorithm = 'sha256'): ManifestItem => ({ name, algorithm, digest });

describe('compareManifests', () => {
  it('equal manifests in any order give an empty diff', () => {
    const diff = compareManifests([item('a'), item('b', D2)], [item('b', D2), item('a')]);
    assert.deepEqual(diff, { changed: [], missing: [], extra: [] });
  });
  it('reports changed, missing and extra, each sorted by code point', () => {
    const diff = compareManifests(
      [item('z'), item('\u{1F600}'), item('\uFF5E'), item('same'), item('b')],
      [item('same'), item('b', D2), item('y'), item('c'), item('z', D1, 'blake3')],
    );
    assert.deepEqual(diff, { changed: ['b', 'z'], missing: ['\uFF5E', '\u{1F600}'], extra: ['c', 'y'] });
  });
  it('normalises names as POSIX paths (./a ≡ a, a//b ≡ a/b), keeps "."', () => {
    assert.deepEqual(compareManifests([item('./a'), item('d//e'), item('.')], [item('a'), item('d/e'), item('.')]), { changed: [], missing: [], extra: [] });
  });
  it('treats sha256 and sha256-sharded-N as the same label', () => {
    assert.deepEqual(compareManifests([item('w:0:8', D1, 'sha256-sharded-8')], [item('w:0:8', D1, 'sha256')]).changed, []);
    assert.deepEqual(compareManifests([item('w:0:8', D1, 'blake2b-sharded-8')], [item('w:0:8', D1, 'sha256')]).changed, ['w:0:8']);
  });
  it('compares digests case-insensitively', () => {
    assert.deepEqual(compareManifests([item('a', 'AB'.repeat(32))], [item('a', 'ab'.repeat(32))]).changed, []);
  });
  it('always reports extra files (tolerating them under ignoreUnsignedFiles is the caller\'s decision)', () => {
    assert.deepEqual(compareManifests([item('a')], [item('a'), item('b')]).extra, ['b']);
  });
});

describe('describeDiff', () => {
  it('one line with the non-empty categories', () => {
    const line = describeDiff({ changed: ['weights.bin'], missing: ['a.txt'], extra: ['b.txt'] }, 'tiny');
    assert.equal(line, 'changed: weights.bin; missing: a.txt; extra: b.txt');
    assert.equal(describeDiff({ changed: [], missing: ['x', 'y'], extra: [] }, 'm'), 'missing: x, y');
    assert.equal(describeDiff({ changed: [], missing: [], extra: [] }, 'm'), "model 'm' matches its signature");
    assert.ok(!line.includes('\n'));
  });
  it('cuts long lists', () => {
    const names = Array.from({ length: 13 }, (_, i) => `f${String(i).padStart(2, '0')}`);
    assert.match(describeDiff({ changed: [], missing: [], extra: names }, 'm'), /f09 and 3 more$/);
  });
});
