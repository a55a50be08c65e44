import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareCodePoint, compareReference } from '../src/manifest/order.js';

describe('compareCodePoint', () => {
  it('orders by code point, not UTF-16 code unit', () => {
    // U+1F600 (astral, surrogate 0xD83D) sorts after U+FF5E by code point but before it in UTF-16.
    const astral = '\u{1F600}';
    const bmp = '\uFF5E';
    assert.ok(astral < bmp, 'JS < compares code units (the trap)');
    assert.ok(compareCodePoint(astral, bmp) > 0);
    assert.deepEqual(['b', 'a', 'B', '\u00e9', astral, bmp].sort(compareCodePoint), ['B', 'a', 'b', '\u00e9', bmp, astral]);
  });
  it('agrees with Python sorted() on the spec examples', () => {
    assert.deepEqual(['tokenizer/vocab.txt', 'tokenizer.json'].sort(compareCodePoint), ['tokenizer.json', 'tokenizer/vocab.txt']);
    assert.deepEqual(['w:8:16', 'w:16:20', 'w:0:8'].sort(compareCodePoint), ['w:0:8', 'w:16:20', 'w:8:16']);
    assert.equal(compareCodePoint('a', 'a'), 0);
    assert.ok(compareCodePoint('a', 'ab') < 0);
  });
});

describe('compareReference', () => {
  it('compares path components (a/b < a b < a-b; tokenizer/ before tokenizer.json)', () => {
    assert.deepEqual(['a-b', 'a b', 'a/b'].sort(compareReference), ['a/b', 'a b', 'a-b']);
    assert.deepEqual(['tokenizer.json', 'tokenizer/vocab.txt'].sort(compareReference), ['tokenizer/vocab.txt', 'tokenizer.json']);
  });
  it('compares shard offsets numerically', () => {
    assert.deepEqual(['w:16:20', 'w:8:16', 'w:0:8'].sort(compareReference), ['w:0:8', 'w:8:16', 'w:16:20']);
    assert.deepEqual(
      ['b:0:1', 'a:10000000000:10000000001', 'a:9000000000:10000000000'].sort(compareReference),
      ['a:9000000000:10000000000', 'a:10000000000:10000000001', 'b:0:1'],
    );
    assert.ok(compareReference('dir/x:0:8', 'dir.bin:0:8') < 0);
    assert.equal(compareReference('w:0:8', 'w:0:8'), 0);
  });
});
