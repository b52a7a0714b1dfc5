/**
 * `lifeboat status` as a process, after a real backup and a real hot drill of a
 * runbook with a cold tier: the cold RTO is estimated from the backup's recorded
 * size and the throughput that drill measured, marked `est.` in the table, and
 * its parts are in `--json`. A runbook without a cold tier shows `—`.
 *
 * The cold repository is a folder here (storage class GLACIER only feeds the
 * estimate): `status` reads the store and the runbooks, never the cold data.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { StatusEntry } from '../../commands/status.js';
import { formatDuration } from '../../src/core/format.js';
import { openJsonStore } from '../../src/core/store/index.js';
import { measuredThroughput } from '../../src/core/tier/estimate.js';
import { ensureCliBuilt, runCli } from '../helpers/cli.js';
import { PIPELINE_PASSWORD } from '../helpers/pipeline-runbook.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('status-cold');
const H = 3_600_000;

let base: string;
let env: Record<string, string>;

/** Deterministic incompressible bytes, so the restore moves what the backup recorded. */
function pseudoRandom(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let off = 0, i = 0; off < size; i++) off += createHash('sha256').update(`${seed}:${i}`).digest().copy(out, off);
  return out;
}

beforeAll(async () => {
  await ensureCliBuilt();
  base = await tempDir();
  const src = join(base, 'src');
  await mkdir(join(src, 'sub'), { recursive: true });
  for (let i = 0; i < 6; i++) await writeFile(join(src, 'sub', `blob-${i}.bin`), pseudoRandom(`f${i}`, 700 * 1024 + i));
  await writeFile(join(src, 'index.json'), '{"ok":true}\n');
  const runbooks = join(base, 'runbooks');
  await mkdir(runbooks);
  const runbook = (name: string, cold?: Record<string, unknown>) => ({
    name,
    sources: [{ name: 'files', path: src }],
    repository: { hot: { url: `file://${join(base, `hot-${name}`)}` }, ...(cold ? { cold } : {}), password: { env: 'LIFEBOAT_PASSWORD' } },
    objectives: { rpo: '26h', rto: '15m' },
    drill: { check: 'test -s files/index.json', timeout: '60s' },
  });
  await writeFile(join(runbooks, 'docs.yaml'), stringify(runbook('docs', { url: `file://${join(base, 'cold-docs')}`, storageClass: 'GLACIER', after: '30d', retrieval: 'Standard' })));
  await writeFile(join(runbooks, 'plain.yaml'), stringify(runbook('plain')));
  env = { LIFEBOAT_PASSWORD: PIPELINE_PASSWORD, LIFEBOAT_HOME: join(base, 'home'), LIFEBOAT_RUNBOOKS: runbooks };
  for (const args of [['init', 'docs'], ['backup', 'docs'], ['restore-drill', 'docs']]) {
    const res = await runCli(args, { env });
    expect(res.code, `${args.join(' ')}: ${res.stdout}${res.stderr}`).toBe(0);
  }
});

describe('lifeboat status with a cold tier, after a backup and a hot drill', () => {
  it('--json: the cold RTO is estimated from the backup’s size and the drill’s measured throughput', async () => {
    const res = await runCli(['status', '--json'], { env });
    expect(res.code, res.stderr).toBe(0);
    const entries = (JSON.parse(res.stdout) as { data: StatusEntry[] }).data;
    const docs = entries.find((e) => e.runbook === 'docs')!;
    const plain = entries.find((e) => e.runbook === 'plain')!;

    const store = await openJsonStore(env.LIFEBOAT_HOME!);
    const [backup] = (await store.listRuns({ runbook: 'docs' })).filter((r) => r.kind === 'backup');
    const drills = await store.listDrills({ runbook: 'docs' });
    const throughput = measuredThroughput(drills);
    expect(throughput, 'the hot drill recorded no fetch/write throughput').toBeGreaterThan(0);
    const bytes = backup!.stats!.bytes!;
    expect(bytes).toBe(6 * 700 * 1024 + 15 + 12);

    expect(docs.hotRto).toMatchObject({ basis: 'measured', source: 'drill', drillId: drills[0]!.id, rtoMs: drills[0]!.rtoMs });
    expect(docs.cold).toMatchObject({ storageClass: 'GLACIER', retrieval: 'Standard', rto: { basis: 'estimated', source: 'computed', verdict: 'missed', targetMs: 15 * 60_000, snapshotId: backup!.snapshotId } });
    const estimate = docs.cold!.rto!.estimate!;
    expect(estimate).toMatchObject({ bytes, objects: 1, thawMs: 5 * H, thawRangeMs: [3 * H, 5 * H], throughputBasis: 'measured', throughputBytesPerSec: throughput });
    expect(estimate.transferMs).toBe(Math.ceil((bytes * 1000) / throughput!));
    expect(docs.cold!.rto!.rtoMs).toBe(5 * H + estimate.transferMs);
    expect(estimate.costLines).toHaveLength(3);

    expect(plain.cold).toBeUndefined();
    expect(plain.hotRto).toBeUndefined();
  });

  it('the table: est. on the estimate, — for the runbook without a cold tier', async () => {
    const res = await runCli(['status'], { env });
    expect(res.code, res.stderr).toBe(0);
    const [header] = res.stdout.split('\n');
    expect(header).toMatch(/HOT: LAST DRILL RTO \/ TARGET +RTO TREND +COLD RTO \/ TARGET +OPEN ALERTS/);
    const docs = res.stdout.split('\n').find((l) => l.startsWith('docs '));
    const plain = res.stdout.split('\n').find((l) => l.startsWith('plain '));
    const [drill] = await (await openJsonStore(env.LIFEBOAT_HOME!)).listDrills({ runbook: 'docs' });
    expect(docs, res.stdout).toContain(`met ${formatDuration(drill!.rtoMs)} / 15m00s`);
    expect(docs).toMatch(/ missed est\. 5h00m \/ 15m00s /);
    expect(plain, res.stdout).toMatch(/ no drill yet \(target 15m00s\) +— +— +none$/);
  });
});
