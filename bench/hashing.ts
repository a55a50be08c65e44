/**
 * Hashing benchmark (issue 5): `npm run bench` (or `node dist/bench/hashing.js [flags]`).
 *
 * Builds a synthetic model in a temp dir, warms the page cache, then runs every case round-robin (so
 * drift on a shared machine hits all cases alike) and prints medians, ratios against baselines measured
 * in the same run, and the issue's targets with pass/miss. Removes everything it wrote.
 *
 * Flags (or env BENCH_<NAME>, e.g. BENCH_LARGE_SIZE=1GiB):
 *   --quick                small run (4 x 64 MiB + 60 small files, 384 MiB single file, 1 round, 1 s openssl)
 *   --large-count N        large files in the model (default 8)
 *   --large-size SIZE      size of each (default 512MiB)
 *   --small-count N        small files, log-uniform 200 B..4 MiB (default 200)
 *   --huge-size SIZE       the single-file model (default 3GiB)
 *   --shard-size N         shard size for the shards cases (default 1000000000, the reference's)
 *   --rounds N             rounds (default 3; medians reported)
 *   --dir PATH             where to create the temp dir (default os.tmpdir())
 *   --keep                 keep the data (prints where)
 * SIZE accepts a plain byte count or a KiB/MiB/GiB/MB/GB suffix.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blake3Backend, hasherFactory } from '../src/hashing/algorithms.js';
import { alignedBuffer } from '../src/hashing/loop.js';

// ---------- options ----------
function opt(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i > 0) return process.argv[i + 1];
  return process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
}
function flagOn(name: string): boolean {
  return process.argv.includes(`--${name}`) || ['1', 'true', 'yes'].includes(process.env[`BENCH_${name.toUpperCase()}`] ?? '');
}
function size(s: string | undefined, dflt: number): number {
  if (s === undefined) return dflt;
  const m = /^(\d+(?:\.\d+)?)\s*(|k|kb|kib|m|mb|mib|g|gb|gib)$/i.exec(s.trim());
  if (!m) throw new Error(`bad size '${s}'`);
  const units: Record<string, number> = { '': 1, k: 1024, kib: 1024, kb: 1e3, m: 2 ** 20, mib: 2 ** 20, mb: 1e6, g: 2 ** 30, gib: 2 ** 30, gb: 1e9 };
  return Math.round(Number(m[1]) * units[m[2]!.toLowerCase()]!);
}
const QUICK = flagOn('quick');
const O = {
  largeCount: Number(opt('large-count') ?? (QUICK ? 4 : 8)),
  largeSize: size(opt('large-size'), QUICK ? 64 * 2 ** 20 : 512 * 2 ** 20),
  smallCount: Number(opt('small-count') ?? (QUICK ? 60 : 200)),
  hugeSize: size(opt('huge-size'), QUICK ? 384 * 2 ** 20 : 3 * 2 ** 30),
  shardSize: size(opt('shard-size'), QUICK ? 100_000_000 : 1_000_000_000),
  rounds: Number(opt('rounds') ?? (QUICK ? 1 : 3)),
  opensslSeconds: QUICK ? 1 : 3,
  dir: opt('dir') ?? tmpdir(),
  keep: flagOn('keep'),
};

const HERE = fileURLToPath(new URL('.', import.meta.url));
const CHILD = join(HERE, 'hash-child.js');
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const HAS_CLI = existsSync(CLI);
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const HAS_B3SUM = has('b3sum');
const HAS_PYTHON = has('python3');
const HAS_OPENSSL = has('openssl');
const CORES = availableParallelism();

// ---------- synthetic model ----------
/** Deterministic PRNG (mulberry32) so the small-file sizes are the same on every run. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const BLOCK = randomBytes(16 * 2 ** 20);
let stamp = 0;
/** Writes `bytes` of incompressible data (a random block, stamped per 16 MiB so no two blocks are equal). */
function writeData(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  try {
    for (let left = bytes; left > 0; ) {
      BLOCK.writeUInt32LE(++stamp, 0);
      const n = Math.min(left, BLOCK.length);
      writeSync(fd, BLOCK, 0, n);
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
}
function makeSmallFiles(dir: string, count: number, seed: number): number {
  const r = prng(seed);
  let total = 0;
  mkdirSync(join(dir, 'extra'), { recursive: true });
  for (let i = 0; i < count; i++) {
    const sz = Math.floor(200 * (4 * 2 ** 20 / 200) ** r());
    writeData(join(dir, i < count / 2 ? '' : 'extra', `small_${String(i).padStart(3, '0')}.json`), sz);
    total += sz;
  }
  return total;
}
function dirBytes(dir: string): { bytes: number; files: string[] } {
  const files: string[] = [];
  let bytes = 0;
  const walk = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      else {
        files.push(p);
        bytes += s.size;
      }
    }
  };
  walk(dir);
  return { bytes, files };
}

// ---------- running ----------
interface Run {
  wall: number;
  inproc?: number;
  rssMiB?: number;
  ok: boolean;
  err?: string;
}
/** Runs a command, timing the whole process; peak RSS from GNU time when available. */
function runProcess(cmd: string, args: string[]): Run & { stdout: string } {
  const rssFile = join(ROOT, 'rss.txt');
  const full = TIME ? [TIME, '-f', '%M', '-o', rssFile, cmd, ...args] : [cmd, ...args];
  const t0 = performance.now();
  const r = spawnSync(full[0]!, full.slice(1), { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const wall = (performance.now() - t0) / 1000;
  let rssMiB: number | undefined;
  if (TIME && existsSync(rssFile)) {
    const kib = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
    if (Number.isFinite(kib)) rssMiB = kib / 1024;
    rmSync(rssFile, { force: true });
  }
  const ok = r.status === 0;
  return { wall, ...(rssMiB !== undefined ? { rssMiB } : {}), ok, stdout: r.stdout ?? '', ...(ok ? {} : { err: (r.stderr || String(r.error)).trim().split('\n').pop() }) };
}

interface Case {
  id: string;
  group: string;
  label: string;
  bytes: number;
  run: () => Run;
}
const cases: Case[] = [];
const results = new Map<string, Run[]>();

function childCase(id: string, group: string, label: string, bytes: number, target: string, extra: string[]): Case {
  return {
    id,
    group,
    label,
    bytes,
    run: () => {
      const r = runProcess(process.execPath, [CHILD, target, ...extra]);
      if (!r.ok) return r;
      const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { hashSeconds: number; maxRssKiB: number };
      return { wall: r.wall, inproc: j.hashSeconds, rssMiB: r.rssMiB ?? j.maxRssKiB / 1024, ok: true };
    },
  };
}

// ---------- baselines ----------
/** `openssl speed` in GB/s (it prints thousands of bytes per second for the one block size). */
function opensslSpeed(algo: string, multi: number): number | undefined {
  const args = ['speed', ...(multi > 1 ? ['-multi', String(multi)] : []), '-evp', algo, '-bytes', '1048576', '-seconds', String(O.opensslSeconds)];
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  const m = /([\d.]+)k\s*$/.exec(line);
  return m ? (Number(m[1]) * 1000) / 1e9 : undefined;
}

/** BLAKE3 (the engine's backend) on one core over an in-cache 1 MiB buffer: the hash alone, no I/O. */
async function blake3InMemory(): Promise<number> {
  const h = (await hasherFactory('blake3'))();
  const buf = alignedBuffer();
  buf.fill(0x5a);
  const rounds = QUICK ? 512 : 2048;
  const t = performance.now();
  for (let i = 0; i < rounds; i++) h.update(buf);
  h.digest();
  return (rounds * buf.length) / ((performance.now() - t) / 1000) / 1e9;
}

const PY_REF = `# The reference's hashing path (model_signing io.SimpleFileHasher / ShardedFileHasher + ThreadPoolExecutor)
import concurrent.futures, hashlib, pathlib, sys
method, root, algo = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
shard = int(sys.argv[4]) if len(sys.argv) > 4 else 1_000_000_000
new = hashlib.sha256 if algo == 'sha256' else hashlib.blake2b
CHUNK = 1_048_576
def simple(path):
    h = new()
    with open(path, 'rb') as f:
        while True:
            data = f.read(CHUNK)
            if not data: break
            h.update(data)
    return path, h.hexdigest()
def sharded(path, start, end):
    h = new()
    with open(path, 'rb') as f:
        f.seek(start); to_read = end - start
        while to_read >= 0:
            data = f.read(min(CHUNK, to_read))
            if not data: break
            to_read -= len(data); h.update(data)
    return (path, start, end), h.hexdigest()
paths = [p for p in [root, *root.glob('**/*')] if p.is_file()]
jobs = []
for p in paths:
    if method == 'files': jobs.append((simple, (p,)))
    else:
        size = p.stat().st_size
        for s in range(0, size, shard): jobs.append((sharded, (p, s, min(s + shard, size))))
with concurrent.futures.ThreadPoolExecutor(max_workers=None) as tpe:
    futs = [tpe.submit(fn, *a) for fn, a in jobs]
    out = [f.result() for f in concurrent.futures.as_completed(futs)]
print(len(out))
`;

// ---------- stats / printing ----------
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
interface Summary {
  wall?: number;
  wallMin?: number;
  wallMax?: number;
  inproc?: number;
  rss?: number;
  err?: string;
}
function summary(id: string): Summary {
  const c = cases.find((x) => x.id === id);
  const runs = (results.get(id) ?? []).filter((r) => r.ok);
  if (!c || runs.length === 0) {
    const failed = (results.get(id) ?? []).find((r) => !r.ok);
    return failed?.err ? { err: failed.err } : {};
  }
  const g = runs.map((r) => c.bytes / r.wall / 1e9);
  const ip = runs.filter((r) => r.inproc !== undefined).map((r) => c.bytes / r.inproc! / 1e9);
  const rss = runs.filter((r) => r.rssMiB !== undefined).map((r) => r.rssMiB!);
  return {
    wall: median(g),
    wallMin: Math.min(...g),
    wallMax: Math.max(...g),
    ...(ip.length ? { inproc: median(ip) } : {}),
    ...(rss.length ? { rss: Math.max(...rss) } : {}),
  };
}
const div0 = (a?: number, b?: number): number | undefined => (a !== undefined && b ? a / b : undefined);
const f2 = (x: number | undefined): string => (x === undefined ? '—' : x.toFixed(2));

// ---------- main ----------
const ROOT = mkdtempSync(join(O.dir, 'modelseal-bench-'));
function cleanup(): void {
  if (O.keep) console.error(`data kept in ${ROOT}`);
  else rmSync(ROOT, { recursive: true, force: true });
}
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

try {
  const started = Date.now();
  // The machine is shared: the load average says how much the figures can be trusted.
  const loadBefore = loadavg()[0]!;
  const MODEL = join(ROOT, 'model');
  const HUGE = join(ROOT, 'huge');
  const SMALL = join(ROOT, 'small');
  console.error(`building the synthetic model in ${ROOT} ...`);
  mkdirSync(MODEL, { recursive: true });
  mkdirSync(HUGE, { recursive: true });
  mkdirSync(SMALL, { recursive: true });
  for (let i = 1; i <= O.largeCount; i++) {
    writeData(join(MODEL, `model-${String(i).padStart(5, '0')}-of-${String(O.largeCount).padStart(5, '0')}.safetensors`), O.largeSize);
  }
  makeSmallFiles(MODEL, O.smallCount, 42);
  writeData(join(HUGE, 'model.safetensors'), O.hugeSize);
  // The "small model" check: ~100 MB of mixed files, below the worker threshold.
  const smallBytes = makeSmallFiles(SMALL, O.smallCount, 7);
  if (smallBytes < 100e6) writeData(join(SMALL, 'weights.bin'), 100e6 - smallBytes);
  const model = dirBytes(MODEL);
  const huge = dirBytes(HUGE);
  const small = dirBytes(SMALL);
  const KEY = join(ROOT, 'key.pem');
  const haveKey = HAS_OPENSSL && spawnSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', KEY], { stdio: 'ignore' }).status === 0;
  writeFileSync(join(ROOT, 'ref.py'), PY_REF);
  console.error('warming the page cache ...');
  for (const f of [...model.files, ...huge.files, ...small.files]) spawnSync('cat', [f], { stdio: ['ignore', 'ignore', 'ignore'] });

  // Cases. "cli": the real `modelseal` process (digest for sha256/files, as the reference prints it;
  // `sign key` for the other algorithms and shards, which digest does not offer). "child": the engine
  // in a small process of our own, which also reports the hashing call's own time.
  const sets = [
    { name: 'model', dir: MODEL, bytes: model.bytes, files: model.files },
    { name: 'single file', dir: HUGE, bytes: huge.bytes, files: huge.files },
  ];
  for (const s of sets) {
    for (const algo of ['sha256', 'blake2b', 'blake3'] as const) {
      for (const method of ['files', 'shards'] as const) {
        const shardArgs = method === 'shards' ? ['--shard-size', String(O.shardSize)] : [];
        const label = `${algo} ${method}`;
        cases.push(childCase(`${s.name}/${algo}/${method}/inproc`, s.name, `${label} — engine`, s.bytes, s.dir, ['--algo', algo, ...shardArgs]));
        if (HAS_CLI && algo === 'sha256' && method === 'files') {
          cases.push({ id: `${s.name}/${algo}/${method}/cli`, group: s.name, label: `${label} — \`modelseal digest\``, bytes: s.bytes, run: () => runProcess(process.execPath, [CLI, 'digest', s.dir]) });
        } else if (HAS_CLI && haveKey) {
          const sig = join(ROOT, 'bench.sig');
          cases.push({
            id: `${s.name}/${algo}/${method}/cli`,
            group: s.name,
            label: `${label} — \`modelseal sign key\``,
            bytes: s.bytes,
            run: () => runProcess(process.execPath, [CLI, 'sign', 'key', s.dir, '--private-key', KEY, '--signature', sig, '--hash-algorithm', algo, ...shardArgs]),
          });
        }
      }
    }
    if (HAS_PYTHON) {
      const py = join(ROOT, 'ref.py');
      cases.push({ id: `${s.name}/py/sha256/files`, group: s.name, label: 'reference approach (Python hashlib, 6 threads), sha256 files', bytes: s.bytes, run: () => runProcess('python3', [py, 'files', s.dir, 'sha256']) });
      cases.push({ id: `${s.name}/py/sha256/shards`, group: s.name, label: 'reference approach, sha256 shards', bytes: s.bytes, run: () => runProcess('python3', [py, 'shards', s.dir, 'sha256', String(O.shardSize)]) });
      cases.push({ id: `${s.name}/py/blake2b/files`, group: s.name, label: 'reference approach, blake2b files', bytes: s.bytes, run: () => runProcess('python3', [py, 'files', s.dir, 'blake2b']) });
    }
    if (HAS_B3SUM) {
      cases.push({ id: `${s.name}/b3sum`, group: s.name, label: '`b3sum` (all threads, mmap)', bytes: s.bytes, run: () => runProcess('b3sum', ['--no-names', ...s.files]) });
    }
  }
  cases.push(childCase('single file/read-only', 'single file', 'read only, no hash (1 thread: the page-cache copy)', huge.bytes, HUGE, ['--read-only']));
  cases.push(childCase('small/default', 'small', 'sha256 files — engine, default threads', small.bytes, SMALL, ['--algo', 'sha256']));
  cases.push(childCase('small/one', 'small', 'sha256 files — engine, --max-workers 1', small.bytes, SMALL, ['--algo', 'sha256', '--max-workers', '1']));
  cases.push(childCase('small/workers', 'small', 'sha256 files — engine, workers only (useMainThread: false)', small.bytes, SMALL, ['--algo', 'sha256', '--no-main-thread']));

  const speeds: Record<string, number[]> = { multi: [], single: [], b2multi: [], b3mem: [] };
  for (let round = 1; round <= O.rounds; round++) {
    console.error(`round ${round}/${O.rounds} (${cases.length} cases + openssl) ...`);
    if (HAS_OPENSSL) {
      const m = opensslSpeed('sha256', CORES);
      const s1 = opensslSpeed('sha256', 1);
      const b = opensslSpeed('blake2b512', CORES);
      if (m) speeds['multi']!.push(m);
      if (s1) speeds['single']!.push(s1);
      if (b) speeds['b2multi']!.push(b);
    }
    speeds['b3mem']!.push(await blake3InMemory());
    for (const c of cases) {
      const r = c.run();
      if (!r.ok) console.error(`  ${c.id}: failed: ${r.err}`);
      results.set(c.id, [...(results.get(c.id) ?? []), r]);
    }
  }

  // ---------- report ----------
  const sslMulti = speeds['multi']!.length ? median(speeds['multi']!) : undefined;
  const sslSingle = speeds['single']!.length ? median(speeds['single']!) : undefined;
  const b2Multi = speeds['b2multi']!.length ? median(speeds['b2multi']!) : undefined;
  // The ceiling of any read()-based design per core: every byte is copied (page cache -> buffer), then
  // hashed, on the same core: 1 / (1/hash + 1/copy).
  const readOnly = summary('single file/read-only').inproc;
  const copyCeiling1 = sslSingle && readOnly ? 1 / (1 / sslSingle + 1 / readOnly) : undefined;
  const b3mem = median(speeds['b3mem']!);
  const b3Ceiling1 = readOnly ? 1 / (1 / b3mem + 1 / readOnly) : undefined;
  const cpuModel = cpus()[0]?.model ?? 'unknown CPU';
  const out: string[] = [];
  out.push(`## Hashing benchmark — ${new Date().toISOString().slice(0, 16)}Z`);
  out.push('');
  out.push(`Machine: ${CORES} cores (nproc), ${cpuModel}, Node ${process.version}, BLAKE3 backend ${blake3Backend()}. ` +
    `Warm page cache. GB/s = 10^9 B/s, median of ${O.rounds} round-robin round(s) [min–max]. ` +
    `"whole process" = wall time of the process, Node start-up included; "hashing call" = hashJobs() inside it. ` +
    `Load average (1 min) before/after: ${loadBefore.toFixed(2)} / ${loadavg()[0]!.toFixed(2)} (other work on the machine skews every figure).`);
  out.push('');
  out.push(`Data: model = ${O.largeCount} × ${(O.largeSize / 2 ** 20).toFixed(0)} MiB + ${O.smallCount} small files (200 B–4 MiB) = ${model.files.length} files, ${(model.bytes / 1e9).toFixed(2)} GB; ` +
    `single file = one ${(O.hugeSize / 2 ** 30).toFixed(2)} GiB file; small = ${small.files.length} files, ${(small.bytes / 1e6).toFixed(0)} MB. Shards: ${O.shardSize} B.`);
  out.push('');
  out.push('| baseline (same run) | GB/s |');
  out.push('|---|---|');
  out.push(`| \`openssl speed -multi ${CORES} -evp sha256 -bytes 1048576\` (ceiling, all cores) | ${f2(sslMulti)} |`);
  out.push(`| \`openssl speed -evp sha256 -bytes 1048576\` (one core) | ${f2(sslSingle)} |`);
  out.push(`| \`openssl speed -multi ${CORES} -evp blake2b512 -bytes 1048576\` | ${f2(b2Multi)} |`);
  out.push(`| BLAKE3 (${blake3Backend()}) in memory, 1 MiB updates, 1 core | ${f2(b3mem)} |`);
  out.push(`| page-cache read into a 1 MiB aligned buffer, 1 thread, no hash | ${f2(readOnly)} |`);
  out.push(`| ⇒ read+hash ceiling, sha256, 1 core: 1/(1/openssl + 1/read) | ${f2(copyCeiling1)} (${f2(div0(copyCeiling1, sslSingle))} × openssl 1-core) |`);
  out.push(`| ⇒ read+hash ceiling, sha256, ${CORES} cores (× openssl scaling) | ${f2(copyCeiling1 && sslMulti && sslSingle ? copyCeiling1 * (sslMulti / sslSingle) : undefined)} (${f2(div0(copyCeiling1, sslSingle))} × openssl all-core) |`);
  out.push(`| ⇒ read+hash ceiling, blake3: 1 core / ${CORES} cores (perfect scaling) | ${f2(b3Ceiling1)} / ${f2(b3Ceiling1 !== undefined ? b3Ceiling1 * CORES : undefined)} |`);
  if (!HAS_OPENSSL) out.push('| openssl not found: ceilings skipped | — |');
  if (!HAS_B3SUM) out.push('| `b3sum` not installed: BLAKE3 baseline skipped (apt-get install b3sum) | — |');
  if (!HAS_PYTHON) out.push('| python3 not found: reference approach skipped | — |');
  if (!HAS_CLI) out.push(`| ${CLI} not built: whole-process figures come from the engine runner only | — |`);
  out.push('');
  for (const group of ['model', 'single file', 'small']) {
    out.push(`### ${group}`);
    out.push('');
    out.push('| case | whole process GB/s [min–max] | hashing call GB/s | × ceiling (call) | peak RSS MiB |');
    out.push('|---|---|---|---|---|');
    for (const c of cases.filter((x) => x.group === group)) {
      const s = summary(c.id);
      if (s.err) {
        out.push(`| ${c.label} | failed: ${s.err.slice(0, 80)} | | | |`);
        continue;
      }
      const ceiling = c.id.includes('/sha256/') && sslMulti && s.inproc ? (s.inproc / sslMulti).toFixed(2) : '';
      out.push(`| ${c.label} | ${f2(s.wall)} [${f2(s.wallMin)}–${f2(s.wallMax)}] | ${f2(s.inproc)} | ${ceiling} | ${s.rss !== undefined ? s.rss.toFixed(0) : '—'} |`);
    }
    out.push('');
  }

  // Targets (issue 5, 2 cores, warm, ratios from this run).
  const T: { name: string; ratio: number | undefined; need: number; note?: string; ceiling?: number | undefined }[] = [];
  const copyRatio = div0(copyCeiling1, sslSingle);
  const ip = (id: string): number | undefined => summary(id).inproc;
  const wall = (id: string): number | undefined => summary(id).wall;
  const div = (a?: number, b?: number): number | undefined => (a !== undefined && b ? a / b : undefined);
  T.push({ name: 'model, sha256 files: hashing call / reference approach', ratio: div(ip('model/sha256/files/inproc'), wall('model/py/sha256/files')), need: 1.05 });
  T.push({ name: 'model, sha256 files: `modelseal digest` whole process / reference approach', ratio: div(wall('model/sha256/files/cli'), wall('model/py/sha256/files')), need: 1.05, note: 'whole process, Node start-up included' });
  T.push({ name: 'model, sha256 files: hashing call / openssl all-core', ratio: div(ip('model/sha256/files/inproc'), sslMulti), need: 0.85, ceiling: copyRatio });
  T.push({ name: 'single file, sha256 files: hashing call / openssl one core', ratio: div(ip('single file/sha256/files/inproc'), sslSingle), need: 0.85, ceiling: copyRatio });
  T.push({ name: `single file, sha256 shards (${O.shardSize} B): hashing call / openssl all-core`, ratio: div(ip('single file/sha256/shards/inproc'), sslMulti), need: 0.8, ceiling: copyRatio });
  T.push({ name: 'model, blake3 files: whole process / b3sum', ratio: div(wall(HAS_CLI ? 'model/blake3/files/cli' : 'model/blake3/files/inproc'), wall('model/b3sum')), need: 0.9, ceiling: div0(b3Ceiling1 !== undefined ? b3Ceiling1 * CORES : undefined, wall('model/b3sum')) });
  T.push({ name: 'model, blake3 files: hashing call / b3sum (whole process)', ratio: div(ip('model/blake3/files/inproc'), wall('model/b3sum')), need: 0.9, ceiling: div0(b3Ceiling1 !== undefined ? b3Ceiling1 * CORES : undefined, wall('model/b3sum')) });
  T.push({ name: 'single file, blake3: hashing call / b3sum', ratio: div(ip('single file/blake3/files/inproc'), wall('single file/b3sum')), need: 0.9, ceiling: div0(b3Ceiling1, wall('single file/b3sum')), note: 'one file = one BLAKE3 stream = one core in Node' });
  T.push({ name: 'small model (~100 MB): default / one thread (hashing call)', ratio: div(ip('small/default'), ip('small/one')), need: 0.97, note: '"no slower", ±3 % noise' });
  const rssMax = Math.max(...cases.filter((c) => !c.id.includes('/py/') && !c.id.includes('b3sum')).map((c) => summary(c.id).rss ?? 0));
  out.push('### Targets (issue 5)');
  out.push('');
  out.push('| target | measured | required | | physical ceiling of the ratio (read+hash) |');
  out.push('|---|---|---|---|---|');
  for (const t of T) {
    out.push(`| ${t.name}${t.note ? ` (${t.note})` : ''} | ${f2(t.ratio)} | ≥ ${t.need} | ${t.ratio === undefined ? 'n/a' : t.ratio >= t.need ? 'pass' : 'MISS'} | ${t.ceiling !== undefined ? f2(t.ceiling) : ''} |`);
  }
  out.push(`| peak RSS of any modelseal process (MiB) | ${rssMax.toFixed(0)} | ≤ 100 | ${rssMax <= 100 ? 'pass' : 'MISS'} | |`);
  out.push('');
  out.push(`Total bench time ${((Date.now() - started) / 1000).toFixed(0)} s.`);
  console.log(out.join('\n'));
} finally {
  cleanup();
}
