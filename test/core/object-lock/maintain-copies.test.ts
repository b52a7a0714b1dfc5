/**
 * Object Lock on a copy (issue 23): a runbook whose hot repository is a plain
 * folder and whose `locked` copy sits in an Object Lock bucket (the double,
 * test/helpers/object-lock-s3.ts) gets serve's daily maintain all the same;
 * `maintain --copy locked` extends the retention of what the copy's kept
 * snapshots use, the bare `maintain` (what serve runs) covers the copy too,
 * and a copy without objectLock is refused by name, through the real CLI.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { findCommand } from '../../../commands/index.js';
import { parseCommandArgs } from '../../../commands/invoke.js';
import type { MaintainResult } from '../../../src/core/use-cases/maintain.js';
import { validateRunbookFile } from '../../../src/core/runbook/index.js';
import { DEFAULT_MAINTAIN_CRON, scheduledKinds } from '../../../src/core/schedule/job.js';
import { scheduledInvocation } from '../../../src/serve/scheduled-jobs.js';
import { ensureCliBuilt, runCli } from '../../helpers/cli.js';
import { startObjectLockS3, type ObjectLockS3 } from '../../helpers/object-lock-s3.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const DAY = 24 * 60 * 60 * 1000;
const admin = { accessKeyId: 'LOCKED-COPY-WRITER', secretAccessKey: 'locked copy secret' };
const temp = useTempDirs('lifeboat-maintain-copies-');
let double: ObjectLockS3;
let base: string;
let runbookFile: string;
let env: Record<string, string>;

beforeAll(async () => {
  await ensureCliBuilt();
  double = await startObjectLockS3({ credentials: [admin] });
  double.createBucket('locked-copy', true);
  base = await temp();
  const source = join(base, 'source');
  await mkdir(source);
  await writeFile(join(source, 'a.txt'), 'alpha\n'.repeat(3000));
  await mkdir(join(base, 'runbooks'));
  runbookFile = join(base, 'runbooks', 'app.yaml');
  await writeFile(
    runbookFile,
    stringify({
      name: 'app',
      sources: [{ name: 'data', path: source }],
      repository: {
        hot: { url: `file://${join(base, 'hot')}` },
        password: { env: 'LIFEBOAT_PASSWORD' },
        copies: [
          {
            name: 'locked',
            url: 's3://locked-copy/app',
            endpoint: double.endpoint,
            pathStyle: true,
            region: 'us-east-1',
            credentials: { accessKeyId: { env: 'COPY_KEY_ID' }, secretAccessKey: { env: 'COPY_SECRET' } },
            objectLock: { mode: 'GOVERNANCE', days: 3 },
          },
          { name: 'plain', url: `file://${join(base, 'plain')}` },
        ],
      },
      objectives: { rpo: '26h', rto: '15m' },
    }),
  );
  env = {
    LIFEBOAT_HOME: join(base, 'home'),
    LIFEBOAT_RUNBOOKS: join(base, 'runbooks'),
    LIFEBOAT_PASSWORD: 'maintain copies password',
    COPY_KEY_ID: admin.accessKeyId,
    COPY_SECRET: admin.secretAccessKey,
  };
});
afterAll(async () => {
  await double.close();
});

/** The latest retain-until of every object of the copy but its lock files. */
function retainedUntil(): Map<string, number> {
  const out = new Map<string, number>();
  for (const key of double.keys('locked-copy').filter((k) => !k.startsWith('app/locks/'))) {
    const until = double.versions('locked-copy', key)[0]?.retainUntil;
    if (until) out.set(key, until.getTime());
  }
  return out;
}

describe('maintain on a copy with objectLock', () => {
  it('is scheduled daily by serve when only a copy is locked, with the bare maintain arguments', async () => {
    const { runbook, issues } = await validateRunbookFile(runbookFile, { runbooksDir: join(base, 'runbooks'), home: env.LIFEBOAT_HOME!, cwd: base });
    expect(issues).toEqual([]);
    expect(scheduledKinds(runbook!)).toEqual([{ kind: 'maintain', expression: DEFAULT_MAINTAIN_CRON }]);
    expect(scheduledInvocation('maintain', runbook!).args).toEqual(parseCommandArgs(findCommand('maintain')!, ['app']));
  });

  it('--copy extends what the copy keeps; the bare run covers the copy; an unlocked copy is refused', async () => {
    const init = await runCli(['init', 'app'], { env });
    expect(init.code, init.stderr).toBe(0);
    const backup = await runCli(['backup', 'app'], { env });
    expect(backup.code, backup.stderr).toBe(0);
    const before = retainedUntil();
    expect([...before.keys()].some((k) => k.startsWith('app/data/'))).toBe(true);
    for (const until of before.values()) expect(until).toBeGreaterThan(double.now().getTime() + 2.9 * DAY);

    // A day on, everything retained ends within the 5 days asked for: all of it moves to now + 3 days.
    double.advance(DAY);
    const one = await runCli(['maintain', 'app', '--copy', 'locked', '--within', '5d', '--json'], { env });
    expect(one.code, one.stderr).toBe(0);
    const result = (JSON.parse(one.stdout) as { data: MaintainResult }).data;
    expect(result.tiers.map((t) => [t.tier, t.copy, t.location])).toEqual([['hot', 'locked', 's3://locked-copy/app']]);
    expect(result.tiers[0]!.snapshotsKept).toBe(1);
    expect(result.tiers[0]!.extended).toBe(before.size);
    const after = retainedUntil();
    for (const [key, until] of before) expect(after.get(key), key).toBeGreaterThan(until);

    // What serve runs: no --copy, and the copy is the one locked location.
    const all = await runCli(['maintain', 'app', '--within', '5d'], { env });
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toContain('copy locked s3://locked-copy/app: 1 kept snapshot(s)');

    const plain = await runCli(['maintain', 'app', '--copy', 'plain'], { env });
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain('copy plain of runbook app');
    expect(plain.stderr).toContain('has no objectLock');
    const unknown = await runCli(['maintain', 'app', '--copy', 'nowhere'], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('its copies are locked, plain');
  });
});
