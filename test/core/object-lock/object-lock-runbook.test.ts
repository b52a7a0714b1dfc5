/**
 * `objectLock` in a runbook: S3 only (a file: repository with it is refused
 * with the field's path), mode and days checked with what was expected; a
 * runbook with a locked repository is maintained daily by serve unless
 * `schedule.maintain` says when, through the `maintain` command's own arguments.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findCommand } from '../../../commands/index.js';
import { parseCommandArgs } from '../../../commands/invoke.js';
import { formatIssue, validateRunbookFile } from '../../../src/core/runbook/index.js';
import { DEFAULT_MAINTAIN_CRON, scheduledKinds } from '../../../src/core/schedule/job.js';
import { scheduledInvocation } from '../../../src/serve/scheduled-jobs.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const temp = useTempDirs('lifeboat-object-lock-runbook-');

async function check(hot: string, schedule = '') {
  const dir = await temp();
  const file = path.join(dir, 'locked.yaml');
  await writeFile(
    file,
    [
      'name: locked',
      'sources: [{ name: data, path: /srv/data }]',
      'repository:',
      `  hot: ${hot}`,
      '  password: { env: LIFEBOAT_PASSWORD }',
      'objectives: { rpo: 26h, rto: 15m }',
      schedule,
      '',
    ].join('\n'),
  );
  return validateRunbookFile(file, { runbooksDir: dir, home: path.join(dir, 'home'), cwd: dir });
}

describe('objectLock in a runbook', () => {
  it('is refused on a file: repository, and bad modes and days say what was expected', async () => {
    const onFolder = await check('{ url: "file:///var/backups/x", objectLock: { mode: COMPLIANCE, days: 30 } }');
    expect(onFolder.issues.map(formatIssue)).toEqual([
      'locked.yaml:4:52: repository.hot.objectLock: "objectLock" only applies to s3:// repositories (expected it removed, or an s3:// url)',
    ]);
    const bad = await check('{ url: "s3://acme/x", objectLock: { mode: FOREVER, days: 0 } }');
    expect(bad.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'repository.hot.objectLock.mode: Not an Object Lock mode: "FOREVER" (expected GOVERNANCE or COMPLIANCE)',
      'repository.hot.objectLock.days: 0 days of retention (expected at least 1)',
    ]);
  });

  it('is maintained daily unless schedule.maintain says when, with the maintain command’s bare arguments', async () => {
    const locked = (await check('{ url: "s3://acme/x", objectLock: { mode: GOVERNANCE, days: 14 } }')).runbook!;
    expect(locked.repository.hot.objectLock).toEqual({ mode: 'GOVERNANCE', days: 14 });
    expect(scheduledKinds(locked)).toEqual([{ kind: 'maintain', expression: DEFAULT_MAINTAIN_CRON }]);
    const job = scheduledInvocation('maintain', locked);
    expect(job.args).toEqual(parseCommandArgs(findCommand('maintain')!, ['locked']));

    const chosen = (await check('{ url: "s3://acme/x", objectLock: { mode: GOVERNANCE, days: 14 } }', 'schedule: { backup: "0 2 * * *", maintain: "0 6 * * 1" }')).runbook!;
    expect(scheduledKinds(chosen)).toEqual([
      { kind: 'backup', expression: '0 2 * * *' },
      { kind: 'maintain', expression: '0 6 * * 1' },
    ]);
    const unlocked = (await check('{ url: "s3://acme/x" }', 'schedule: { backup: "0 2 * * *" }')).runbook!;
    expect(scheduledKinds(unlocked).map((k) => k.kind)).toEqual(['backup']);
  });
});
