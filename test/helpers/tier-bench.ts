/**
 * A measurement, not a test: `node --import tsx test/helpers/tier-bench.ts`.
 * Three backups (64 MiB in 8 files + 200 small files, then +16 MiB, then
 * +1 MiB) into a hot folder, then one `lifeboat tier` that moves the first two
 * to a cold s3rver prefix (GLACIER). Prints the tier's wall time (CLI start
 * included) and its counters as one JSON line.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startS3rver } from './s3rver.js';
import { runCli, ensureCliBuilt } from './cli.js';
import { writeTierRunbook } from './tier-runbook.js';
import { s3Env, writeRandomFile } from '../integration/s3/harness.js';

const MiB = 1024 * 1024;
await ensureCliBuilt();
const server = await startS3rver();
const base = await mkdtemp(join(tmpdir(), 'tierbench-'));
const home = join(base, 'home');
const hot = join(base, 'hot');
const src = join(base, 'src');
const rb = writeTierRunbook(base, 'bench', { source: src, hotDir: hot, endpoint: server.endpoint, bucket: server.bucket, prefix: 'bench', tierSchedule: true });
const env = (now: string) => s3Env(home, { LIFEBOAT_TEST_NOW: now });
await runCli(['init', rb], { env: env('2026-01-01T00:00:00Z') });
for (let i = 0; i < 8; i++) await writeRandomFile(join(src, `f${i}.bin`), `f${i}`, 8 * MiB);
for (let i = 0; i < 200; i++) await writeRandomFile(join(src, 'small', `s${i}.bin`), `s${i}`, 20 * 1024);
await runCli(['backup', rb], { env: env('2026-01-01T02:00:00Z') });
await writeRandomFile(join(src, 'new.bin'), 'new', 16 * MiB);
await runCli(['backup', rb], { env: env('2026-01-02T02:00:00Z') });
await writeRandomFile(join(src, 'new2.bin'), 'new2', 1 * MiB);
await runCli(['backup', rb], { env: env('2026-01-03T02:00:00Z') });
const t0 = performance.now();
const r = await runCli(['tier', rb, '--json'], { env: env('2026-03-01T00:00:00Z') });
const ms = performance.now() - t0;
const o = (JSON.parse(r.stdout) as { data: { outcome: Record<string, number> } }).data.outcome;
console.log(JSON.stringify({ exit: r.code, wallMs: Math.round(ms), snapshotsCopied: o.snapshotsCopied, blobsCopied: o.blobsCopied, blobsDeduplicated: o.blobsDeduplicated, bytesRead: o.bytesRead, bytesUploaded: o.bytesUploaded, packsPruned: o.packsPruned, MiBps: +(o.bytesRead! / MiB / (ms / 1000)).toFixed(1) }));
await server.stop();
