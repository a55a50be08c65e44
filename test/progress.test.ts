import assert from 'node:assert/strict';
import { test } from 'node:test';
import { progressBar } from '../src/cli/progress.js';

function fakeStream(isTTY: boolean): { stream: NodeJS.WriteStream; written: string[] } {
  const written: string[] = [];
  const stream = { isTTY, write: (s: string) => (written.push(s), true) } as unknown as NodeJS.WriteStream;
  return { stream, written };
}

test('no progress bar when stderr is not a terminal', () => {
  const { stream } = fakeStream(false);
  assert.equal(progressBar('hashing', stream), undefined);
});

test('on a terminal the bar redraws in place and is erased when done', () => {
  const { stream, written } = fakeStream(true);
  const p = progressBar('hashing', stream)!;
  p.update(0, 4e9);
  p.update(4e9, 4e9); // the final update is always drawn, however soon it comes
  p.done();
  p.update(1, 4e9); // nothing after done
  assert.equal(written.length, 3);
  assert.match(written[0]!, /^\rhashing \[\.{30}\]\s+0% 0\.00 GB\/4\.00 GB/);
  assert.match(written[1]!, /^\rhashing \[#{30}\] 100% 4\.00 GB\/4\.00 GB/);
  assert.equal(written[2], '\r\x1b[K');
});
