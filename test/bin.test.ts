/** The checkout's entry points (bin/modelseal, bin/oms-conformance) run the built CLI. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT } from './helpers/paths.js';

const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };

test('bin/modelseal runs the CLI', () => {
  const r = spawnSync(join(PROJECT_ROOT, pkg.bin['modelseal']!), ['--version'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), pkg.version);
  const bad = spawnSync(join(PROJECT_ROOT, pkg.bin['modelseal']!), ['verify', 'key', '.'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--signature/);
});

test('bin/oms-conformance answers capabilities with JSON', () => {
  const r = spawnSync(join(PROJECT_ROOT, pkg.bin['oms-conformance']!), ['capabilities'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const caps = JSON.parse(r.stdout) as { flags: string[]; hash_algorithms: string[]; client_version: string };
  assert.deepEqual(caps.hash_algorithms, ['sha256', 'blake2b', 'blake3']);
  assert.ok(caps.flags.includes('--method'));
  assert.equal(caps.client_version, pkg.version);
});
