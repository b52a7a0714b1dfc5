/**
 * Restore drills through the real CLI (issue 6, deliverable 1 and the drill
 * "Must show" items): `lifeboat restore-drill` restores the latest snapshot
 * into scratch space under the state folder, re-hashes every file, pipes each
 * stream source into its `restore` command, runs `drill.check` in the restore
 * folder, removes the scratch space, and records a drill with its phases, RTO
 * and verdict — met, missed (over objectives.rto) or failed.
 *
 * One repository is backed up once; each test drills it with its own variant of
 * the runbook (same name `app`, so the same snapshots) and its own state folder,
 * so no test sees another's drill records.
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatDuration } from '../../../src/core/format.js';
import { planSnapshot } from '../../../src/core/repo/snapshot-plan.js';
import type { AlertRecord, DrillRecord } from '../../../src/core/store/index.js';
import { ensureCliBuilt, runCli } from '../../helpers/cli.js';
import { drillsOf, flipByte, processAlive, rtoPhases, runDrillCli, scratchLeft, writeDrillRunbook, type DrillRunbookOptions } from '../../helpers/drill-runbook.js';
import { expectSameManifest, manifestOf } from '../../helpers/fs-manifest.js';
import { startCli } from '../../helpers/pipeline-process.js';
import { PIPELINE_PASSWORD } from '../../helpers/pipeline-runbook.js';
import { openRepo } from '../../helpers/repo.js';
import { resealWithChangedPlaintext } from '../../helpers/reseal-blob.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('drill');
const KiB = 1024;

let base: string;
let src: string;
let ledger: string;
let repo: string;
/** Every file of the folder source, relative to it, with its size. */
let sourceFiles: Map<string, number>;
/** Bytes of the folder source plus the stream source: what a full restore writes. */
let totalBytes: number;
let snapshotId: string;

/** Deterministic incompressible bytes. */
function pseudoRandom(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let off = 0, i = 0; off < size; i++) off += createHash('sha256').update(`${seed}:${i}`).digest().copy(out, off);
  return out;
}

const PHASES = ['plan', 'fetch', 'write', 'validate', 'cleanup'];

/** A runbook `app` for one test in `<base>/<tag>/`, with its own state folder. */
async function variant(tag: string, drill: Omit<DrillRunbookOptions, 'sources' | 'repo'> & { repo?: string; restore?: string } = {}) {
  const dir = join(base, tag);
  await mkdir(dir, { recursive: true });
  const runbook = await writeDrillRunbook(dir, 'app', {
    repo: drill.repo ?? repo,
    sources: [
      { name: 'files', path: src },
      { name: 'ledger', command: `cat '${ledger}'`, restore: drill.restore ?? 'cat > ledger.restored' },
    ],
    rto: drill.rto,
    check: drill.check,
    timeout: drill.timeout,
  });
  const home = join(dir, 'home');
  return { dir, runbook, home, env: { LIFEBOAT_PASSWORD: PIPELINE_PASSWORD, LIFEBOAT_HOME: home } };
}

/**
 * The check of a good drill proves the validate phase's contract: it runs in
 * the restore folder (LIFEBOAT_DRILL_DIR), each source is named after itself
 * there, the stream was piped into `restore` byte for byte, and the repository
 * password is not handed to the commands.
 */
const goodCheck = () =>
  [
    'test -s files/index.json',
    'cmp ledger ledger.restored',
    `cmp ledger.restored '${ledger}'`,
    'test -z "${LIFEBOAT_PASSWORD:-}"',
    'test "$LIFEBOAT_RUNBOOK" = app',
    'test "$(pwd -P)" = "$(cd "$LIFEBOAT_DRILL_DIR" && pwd -P)"',
  ].join(' && ');

function expectPhases(drill: DrillRecord): void {
  expect(drill.phases.map((p) => p.name)).toEqual(PHASES);
  for (const p of drill.phases) {
    expect(Number.isInteger(p.durationMs) && p.durationMs >= 0, `${p.name}: ${p.durationMs}`).toBe(true);
    if (p.bytes !== undefined && p.durationMs > 0) expect(p.throughput).toBe(Math.round((p.bytes * 1000) / p.durationMs));
  }
  // RTO is start → validated: the sum of plan..validate (each rounded to the millisecond), not cleanup.
  const { names, sumMs } = rtoPhases(drill);
  expect(names).toEqual(['plan', 'fetch', 'write', 'validate']);
  expect(drill.rtoMs).toBeDefined();
  expect(Math.abs(drill.rtoMs! - sumMs), `rto ${drill.rtoMs} vs phases ${sumMs}`).toBeLessThanOrEqual(3);
}

beforeAll(async () => {
  await ensureCliBuilt();
  base = await tempDir();
  src = join(base, 'src');
  await mkdir(join(src, 'nested/deeper'), { recursive: true });
  await writeFile(join(src, 'index.json'), JSON.stringify({ tables: ['orders', 'customers'], version: 3 }) + '\n');
  for (let i = 0; i < 16; i++) await writeFile(join(src, `part-${String(i).padStart(2, '0')}.bin`), pseudoRandom(`part${i}`, 48 * KiB + i));
  await writeFile(join(src, 'nested/notes.txt'), 'restore me\n'.repeat(100));
  await writeFile(join(src, 'nested/deeper/small.bin'), pseudoRandom('small', 700));
  ledger = join(base, 'ledger.txt');
  await writeFile(ledger, Array.from({ length: 2000 }, (_, i) => `${i},order-${i},${(i * 7919) % 1009}`).join('\n') + '\n');
  repo = join(base, 'repo');

  sourceFiles = new Map();
  for (const e of await readdir(src, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) {
      const abs = join(e.parentPath, e.name);
      sourceFiles.set(abs.slice(src.length + 1), (await stat(abs)).size);
    }
  }
  totalBytes = [...sourceFiles.values()].reduce((a, b) => a + b, 0) + (await stat(ledger)).size;

  const setup = await variant('setup');
  const init = await runCli(['init', setup.runbook], { env: setup.env });
  expect(init.code, init.stderr).toBe(0);
  const backup = await runCli(['backup', setup.runbook, '--json'], { env: setup.env });
  expect(backup.code, backup.stderr).toBe(0);
  const list = await runCli(['snapshots', setup.runbook, '--json'], { env: setup.env });
  expect(list.code, list.stderr).toBe(0);
  const snaps = (JSON.parse(list.stdout) as { data: { id: string }[] }).data;
  expect(snaps).toHaveLength(1);
  snapshotId = snaps[0]!.id;
}, 120_000);

describe('lifeboat restore-drill', () => {
  it('a good drill: exit 0, verdict met, phases with durations and bytes, RTO = plan..validate, recorded, scratch removed', async () => {
    const v = await variant('met', { check: goodCheck() });
    const res = await runDrillCli([v.runbook], v.env);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    const { drill } = res;
    expect(drill.verdict, drill.reason).toBe('met');
    expect(drill.reason).toBeUndefined();
    expect(drill.runbook).toBe('app');
    expect(drill.snapshotId).toBe(snapshotId);
    expect(drill.tier).toBe('hot');
    expect(drill.targetMs).toBe(15 * 60_000);
    expect(drill.actor.face).toBe('cli');
    expectPhases(drill);
    const byName = Object.fromEntries(drill.phases.map((p) => [p.name, p]));
    // Everything the snapshot holds was written and re-read: the folder source and the stream.
    expect(byName.write!.bytes).toBe(totalBytes);
    expect(byName.validate!.bytes).toBe(totalBytes);
    expect(byName.fetch!.bytes).toBeGreaterThan(0);
    expect(byName.plan!.bytes).toBeUndefined();
    expect(byName.cleanup!.bytes).toBeUndefined();
    expect(new Date(drill.endedAt!).getTime()).toBeGreaterThanOrEqual(new Date(drill.startedAt).getTime());
    expect(res.summary).toBe(`drill met: app snapshot ${snapshotId.slice(0, 8)} restored and validated in ${formatDuration(drill.rtoMs)} (target 15m00s)`);
    expect(res.lines.map((l) => l.trim().split(/\s+/)[0])).toEqual(PHASES);

    // The store holds the same record the command printed.
    const stored = await drillsOf(v.home, 'app');
    expect(stored).toHaveLength(1);
    expect(stored[0]).toEqual(drill);
    expect(await scratchLeft(v.home)).toEqual([]);
    console.info(`drill met: RTO ${formatDuration(drill.rtoMs)}; ${drill.phases.map((p) => `${p.name} ${p.durationMs}ms${p.bytes !== undefined ? ` ${p.bytes} B` : ''}`).join(', ')}`);
  });

  it('the scratch folder leaves at once and is removed in the background; a drill first removes what an earlier one left being removed', async () => {
    // What a removal cut short by a crash would leave: an earlier drill's restore under scratch/.removing.
    const v = await variant('discarded', { check: 'test -z "$(ls -A "$LIFEBOAT_DRILL_DIR/../.removing")"' });
    const left = join(v.home, 'scratch', '.removing', 'drill-app-earlier-0a1b2c3d');
    await cp(src, join(left, 'files'), { recursive: true });
    const res = await runDrillCli([v.runbook], v.env);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    // The check ran in the restore with .removing already empty: the leftover went before the restore began.
    expect(res.drill.verdict, res.drill.reason).toBe('met');
    // When the command has ended its own folder is no longer in scratch (at most under .removing, going).
    expect((await readdir(join(v.home, 'scratch'))).filter((name) => name !== '.removing')).toEqual([]);
    expect(await scratchLeft(v.home)).toEqual([]);
  });

  it('--keep leaves the restored tree in scratch space: the folder source identical to the original, the stream restored', async () => {
    const v = await variant('keep', { check: goodCheck() });
    const res = await runDrillCli([v.runbook, snapshotId.slice(0, 8), '--keep'], v.env);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.drill.verdict).toBe('met');
    expect(res.drill.snapshotId).toBe(snapshotId);
    const kept = res.lines.find((l) => l.startsWith('scratch kept at '))?.slice('scratch kept at '.length);
    expect(kept, res.lines.join('\n')).toBeDefined();
    expect(kept!.startsWith(join(v.home, 'scratch') + '/')).toBe(true);
    expect(await scratchLeft(v.home)).toHaveLength(1);
    expectSameManifest(await manifestOf(join(kept!, 'files')), await manifestOf(src));
    const original = await readFile(ledger);
    expect((await readFile(join(kept!, 'ledger'))).equals(original)).toBe(true);
    expect((await readFile(join(kept!, 'ledger.restored'))).equals(original)).toBe(true);
    // The kept cleanup phase is still recorded.
    expect(res.drill.phases.map((p) => p.name)).toEqual(PHASES);
  });

  it('an RTO target of 1ms: verdict missed (exit 0), the reason names the slowest phase', async () => {
    const v = await variant('missed', { rto: '1ms', check: goodCheck() });
    const res = await runDrillCli([v.runbook], v.env);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    const { drill } = res;
    expect(drill.verdict, drill.reason).toBe('missed');
    expect(drill.targetMs).toBe(1);
    expectPhases(drill);
    expect(drill.rtoMs!).toBeGreaterThan(1);
    const { slowest } = rtoPhases(drill);
    expect(drill.reason).toBe(`took ${formatDuration(drill.rtoMs)}, over the 1ms target; slowest phase: ${slowest.name} (${formatDuration(slowest.durationMs)})`);
    expect(res.summary).toMatch(/^drill missed: app /);
    expect((await drillsOf(v.home, 'app'))[0]).toEqual(drill);
    expect(await scratchLeft(v.home)).toEqual([]);
  });

  it('a failing drill.check: exit 1, verdict failed, the reason carries the check’s exit code and output tail', async () => {
    const v = await variant('check-fails', { check: 'echo "checking orders"; echo missing-table >&2; exit 2' });
    const res = await runDrillCli([v.runbook], v.env);
    expect(res.code).toBe(1);
    const { drill } = res;
    expect(drill.verdict).toBe('failed');
    expect(drill.reason).toContain('failed (exit 2)');
    expect(drill.reason).toContain('checking orders | missing-table');
    expect(res.summary).toContain('missing-table');
    expect(res.lines).toContainEqual(expect.stringMatching(/^problem: check .* failed \(exit 2\): checking orders \| missing-table$/));
    const [stored] = await drillsOf(v.home, 'app');
    expect(stored!.verdict).toBe('failed');
    expect(stored!.reason).toBe(drill.reason);
    expect(stored!.phases.map((p) => p.name)).toEqual(PHASES);
    expect(await scratchLeft(v.home)).toEqual([]);
  });

  it('a drill.check that outlives drill.timeout is killed: failed, "timed out after 1.0s"', async () => {
    const v = await variant('check-timeout', { timeout: '1s', check: `echo $$ > '${join(base, 'check-timeout.pid')}'; exec sleep 30` });
    const started = Date.now();
    const res = await runDrillCli([v.runbook], v.env);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(res.code).toBe(1);
    expect(res.drill.verdict).toBe('failed');
    expect(res.drill.reason).toMatch(/^check `.*` timed out after 1\.0s$/);
    const pid = Number(await readFile(join(base, 'check-timeout.pid'), 'utf8'));
    expect(processAlive(pid), `check process ${pid} still running`).toBe(false);
    expect(await scratchLeft(v.home)).toEqual([]);
  });

  it('a stream source whose restore command fails: failed, names the source and carries the command’s output', async () => {
    const v = await variant('restore-fails', {
      check: 'true',
      restore: 'cat > /dev/null; echo \'pg_restore: error: relation "orders" does not exist\' >&2; exit 1',
    });
    const res = await runDrillCli([v.runbook], v.env);
    expect(res.code).toBe(1);
    expect(res.drill.verdict).toBe('failed');
    expect(res.drill.reason).toMatch(/^restore of ledger \(`cat > \/dev\/null; .*`\) exited with 1: pg_restore: error: relation "orders" does not exist$/);
    expect(await scratchLeft(v.home)).toEqual([]);
  });

  it('a damaged repository (one byte flipped in a data pack): failed, the problems name the damaged files, a drill alert is raised', async () => {
    const damaged = join(base, 'repo-damaged');
    await cp(repo, damaged, { recursive: true });
    const packs: { path: string; size: number }[] = [];
    for (const e of await readdir(join(damaged, 'data'), { recursive: true, withFileTypes: true })) {
      if (e.isFile()) packs.push({ path: join(e.parentPath, e.name), size: (await stat(join(e.parentPath, e.name))).size });
    }
    // The biggest pack holds file data (trees are small); its middle is inside some file's blob.
    const pack = packs.sort((a, b) => b.size - a.size)[0]!;
    expect(pack.size).toBeGreaterThan(256 * KiB);
    await flipByte(pack.path);

    const v = await variant('damaged', { repo: damaged, check: 'true' });
    const res = await runDrillCli([v.runbook], v.env);
    expect(res.code, res.stdout + res.stderr).toBe(1);
    expect(res.drill.verdict).toBe('failed');
    const problems = res.lines.filter((l) => l.startsWith('problem: ')).map((l) => l.slice('problem: '.length));
    // Restored paths: `files/<path in the folder source>`, or `ledger` (the stream).
    const named = new Set(problems.map((p) => /^restore: (\S+): .*(damaged|altered|authentication)/.exec(p)?.[1]).filter((f): f is string => f !== undefined));
    expect(named.size, problems.join('\n')).toBeGreaterThan(0);
    // Only paths the snapshot holds, and not all of them: the damage is located, not a blanket failure.
    for (const f of named) expect(f === 'ledger' || (f.startsWith('files/') && sourceFiles.has(f.slice('files/'.length))), `${f} is not in the snapshot`).toBe(true);
    expect(named.size).toBeLessThan(sourceFiles.size);
    const first = [...named][0]!;
    expect(res.drill.reason).toContain(`restore: ${first}: `);
    expect(await scratchLeft(v.home)).toEqual([]);

    const alerts = await runCli(['alerts', '--json'], { env: v.env });
    expect(alerts.code, alerts.stderr).toBe(0);
    const open = (JSON.parse(alerts.stdout) as { data: AlertRecord[] }).data;
    const alert = open.find((a) => a.runbook === 'app' && /drill/.test(a.rule));
    expect(alert, JSON.stringify(open)).toBeDefined();
    expect(alert!.status).toBe('open');
    expect(alert!.severity).toBe('critical');
    expect(alert!.message).toContain(`restore: ${first}: `);
  });

  it('a blob whose MAC verifies but whose content is not its id (re-sealed under the key): failed at the re-read, naming the file, the bytes and the blob', async () => {
    const resealed = join(base, 'repo-resealed');
    await cp(repo, resealed, { recursive: true });
    const opened = await openRepo(resealed, PIPELINE_PASSWORD);
    const snapshot = await opened.loadSnapshot(snapshotId);
    const plan = await planSnapshot(opened, snapshot);
    // A part file is random bytes: stored uncompressed, one blob.
    const file = plan.files.find((f) => f.rel.endsWith('/part-03.bin'))!;
    expect(file.locs).toHaveLength(1);
    const blob = file.locs[0]!;
    await resealWithChangedPlaintext(opened, blob);

    const v = await variant('resealed', { repo: resealed, check: 'true' });
    const res = await runDrillCli([v.runbook], v.env);
    expect(res.code, res.stdout + res.stderr).toBe(1);
    expect(res.drill.verdict).toBe('failed');
    const problems = res.lines.filter((l) => l.startsWith('problem: ')).map((l) => l.slice('problem: '.length));
    expect(problems).toEqual([`validate: files/part-03.bin does not match the snapshot (bytes 0-${blob.rawLength} are not blob ${blob.id.slice(0, 12)})`]);
    expect(res.drill.reason).toContain('files/part-03.bin');
    expect(await scratchLeft(v.home)).toEqual([]);
  });

  it('Ctrl-C during the check: the check is killed, exit 130, recorded failed "cancelled", scratch removed', async () => {
    const pidFile = join(base, 'cancel.pid');
    const v = await variant('cancel', { check: `echo $$ > '${pidFile}'; exec sleep 30` });
    const cli = startCli(['restore-drill', v.runbook, '--json'], { env: v.env });
    let pid = 0;
    for (let waited = 0; waited < 20_000 && !pid; waited += 50) {
      await sleep(50);
      pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim()) || 0;
    }
    expect(pid, 'the check never started').toBeGreaterThan(0);
    cli.child.kill('SIGINT');
    const done = await cli.done;
    expect(processAlive(pid), `check process ${pid} still running`).toBe(false);
    expect(await scratchLeft(v.home)).toEqual([]);
    const [stored] = await drillsOf(v.home, 'app');
    expect({ exit: done.code, verdict: stored!.verdict, reason: stored!.reason }).toEqual({ exit: 130, verdict: 'failed', reason: 'cancelled' });
  });
});

describe('lifeboat status after a backup and a drill of the demo runbook', () => {
  it('shows the last backup against the RPO and the drill’s RTO against its target; --json has lastDrill', async () => {
    const home = join(await tempDir(), 'home');
    const env = { LIFEBOAT_HOME: home };
    for (const args of [['init', 'demo'], ['backup', 'demo']]) {
      const res = await runCli(args, { env });
      expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(0);
    }
    const drill = await runDrillCli(['demo'], env);
    expect(drill.code, drill.stdout + drill.stderr).toBe(0);
    expect(drill.drill.verdict).toBe('met');
    expect(drill.drill.targetMs).toBe(5 * 60_000);

    const status = await runCli(['status'], { env });
    expect(status.code, status.stderr).toBe(0);
    const row = status.stdout.split('\n').find((l) => l.startsWith('demo '));
    expect(row, status.stdout).toBeDefined();
    expect(status.stdout).toMatch(/LAST DRILL RTO \/ TARGET/);
    expect(row).toMatch(/ succeeded \S+ ago /);
    expect(row).toMatch(/ ok \(\S+ \/ 26h00m\) /);
    expect(row).toContain(`met ${formatDuration(drill.drill.rtoMs)} / 5m00s`);

    const json = await runCli(['status', '--json'], { env });
    expect(json.code, json.stderr).toBe(0);
    const entry = (JSON.parse(json.stdout) as { data: { runbook: string; rpoState: string; lastSuccess?: { snapshotId?: string }; lastDrill?: DrillRecord }[] }).data.find(
      (e) => e.runbook === 'demo',
    );
    expect(entry?.rpoState).toBe('ok');
    // The drill as recorded, without its phases (status reads drills brief; history has them whole).
    const { phases: _phases, ...brief } = drill.drill;
    expect(entry?.lastDrill).toEqual(brief);
    expect(entry?.lastSuccess?.snapshotId).toBe(drill.drill.snapshotId);
    expect(await scratchLeft(home)).toEqual([]);
  });
});
