/** `modelseal serve` as a real process: starts, serves, refuses, stops with 0 on SIGTERM. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { COMPILED_SRC } from './helpers/paths.js';
import { call, cleanupAll, exampleRepo } from './helpers/server.js';

after(cleanupAll);

const SERVE_MAIN = join(COMPILED_SRC, 'server', 'main.js');

describe('server: process', () => {
  test('serve DIR --settings --policy: JSON logs, real HTTP, SIGTERM exits 0', { timeout: 30_000 }, async () => {
    const repo = await exampleRepo();
    const child = spawn(process.execPath, [SERVE_MAIN, repo.modelsDir, '--settings', repo.settingsPath, '--policy', repo.policyPath, '--http-port', '0', '--grpc-port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(MLSERVER|MODELSEAL)_/.test(k))),
    });
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line: ${stderr}`)), 20_000);
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        for (const line of stderr.split('\n')) {
          if (!line.startsWith('{')) continue;
          const rec = JSON.parse(line) as { message: string; http?: string };
          if (rec.message === 'modelseal server listening' && rec.http) {
            clearTimeout(timer);
            resolve(rec.http);
          }
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`exited ${code}: ${stderr}`));
      });
    });
    const s = { url };
    assert.equal((await call(s, 'POST', '/v2/repository/models/good-model/load', {})).status, 200);
    assert.equal((await call(s, 'POST', '/v2/repository/models/custom-tampered/load', {})).status, 400);
    assert.equal(existsSync(repo.markerPath), false);
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (c) => resolve(c));
      child.kill('SIGTERM');
    });
    assert.equal(code, 0, stderr);
    const lines = stderr.trim().split('\n').map((l) => JSON.parse(l) as { level: string; message: string; time: string });
    assert.ok(lines.every((l) => l.time && l.level && l.message), 'every stderr line is a JSON log record');
    assert.ok(lines.some((l) => l.message === 'server stopped'));
    assert.ok(lines.some((l) => l.level === 'WARN' && /verification is OFF/.test(l.message)));
  });
});
