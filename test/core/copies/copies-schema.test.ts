/** `repository.copies` in a runbook: what loads, and what is refused with the field's path. */
import { describe, expect, it } from 'vitest';
import { formatIssue } from '../../../src/core/runbook/index.js';
import { checkRunbookText } from '../../../src/core/runbook/load.js';
import { scheduledKinds } from '../../../src/core/schedule/index.js';
import { scheduledInvocation } from '../../../src/serve/scheduled-jobs.js';

const opts = { runbooksDir: '/srv/runbooks', home: '/var/lib/lifeboat', cwd: '/srv/runbooks' };

function runbookText(copies: string): string {
  return [
    'name: app',
    'sources: [{ name: data, path: /srv/data }]',
    'repository:',
    '  hot: { url: "file:///var/backups/app" }',
    '  cold: { url: "s3://acme-cold/app", storageClass: GLACIER, after: 30d }',
    '  password: { env: LIFEBOAT_PASSWORD }',
    '  copies:',
    copies,
    'objectives: { rpo: 26h, rto: 15m }',
  ].join('\n');
}

function issues(copies: string): string[] {
  return checkRunbookText(runbookText(copies), '/srv/runbooks/app.yaml', opts).issues.map((i) => formatIssue(i));
}

describe('repository.copies', () => {
  it('loads each copy with its own password, credentials, endpoint and retention; relative file: urls resolve against the runbook', () => {
    const check = checkRunbookText(
      runbookText(
        [
          '    - name: offsite',
          '      url: s3://acme-offsite/app',
          '      endpoint: http://127.0.0.1:9000',
          '      pathStyle: true',
          '      password: { env: OFFSITE_PASSWORD }',
          '      credentials: { accessKeyId: { env: OFFSITE_KEY }, secretAccessKey: { file: keys/offsite.secret } }',
          '      keep: { last: 2, within: 1d }',
          '      objectLock: { mode: COMPLIANCE, days: 30 }',
          '    - { name: usb, url: "file:usb/app" }',
        ].join('\n'),
      ),
      '/srv/runbooks/app.yaml',
      opts,
    );
    expect(check.issues.map((i) => formatIssue(i))).toEqual([]);
    expect(check.runbook?.repository.copies).toEqual([
      {
        name: 'offsite',
        url: 's3://acme-offsite/app',
        endpoint: 'http://127.0.0.1:9000',
        pathStyle: true,
        after: 'backup',
        password: { kind: 'env', name: 'OFFSITE_PASSWORD' },
        credentials: { accessKeyId: { kind: 'env', name: 'OFFSITE_KEY' }, secretAccessKey: { kind: 'file', path: '/srv/runbooks/keys/offsite.secret', create: false } },
        keep: { last: 2, withinMs: 86_400_000 },
        objectLock: { mode: 'COMPLIANCE', days: 30 },
      },
      { name: 'usb', url: 'file:///srv/runbooks/usb/app', after: 'backup' },
    ]);
  });

  it('refuses a copy at the hot, the cold or another copy’s url, a duplicate or bad name, and S3-only fields on a folder, each at its path', () => {
    const found = issues(
      [
        '    - { name: a, url: "file:///var/backups/app" }',
        '    - { name: b, url: "s3://acme-cold/app/" }',
        '    - { name: c, url: "s3://acme-offsite/app" }',
        '    - { name: c, url: "s3://acme-offsite/app" }',
        '    - { name: Offsite, url: "s3://acme-other/app" }',
        '    - { name: d, url: "file:///mnt/usb", region: eu-west-1, credentials: { accessKeyId: { env: K }, secretAccessKey: { env: S } } }',
        '    - { name: e, url: "s3://acme-e/app", password: "hunter2" }',
        '    - { name: f, url: "file:///mnt/f", objectLock: { mode: GOVERNANCE, days: 7 } }',
      ].join('\n'),
    );
    expect(found).toEqual([
      expect.stringMatching(/repository\.copies\[0\]\.url: This copy's url is the hot repository's \(expected a repository of its own/),
      expect.stringMatching(/repository\.copies\[1\]\.url: This copy's url is the cold repository's/),
      expect.stringMatching(/repository\.copies\[3\]\.name: Duplicate copy name "c", also used by copies\[2\]/),
      expect.stringMatching(/repository\.copies\[3\]\.url: This copy's url is copies\[2\]'s/),
      expect.stringMatching(/repository\.copies\[4\]\.name: Not a kebab-case name: "Offsite"/),
      expect.stringMatching(/repository\.copies\[5\]\.region: "region" only applies to s3:\/\/ repositories/),
      expect.stringMatching(/repository\.copies\[5\]\.credentials: "credentials" only applies to s3:\/\/ repositories/),
      expect.stringMatching(/repository\.copies\[6\]\.password: A password must not be written in a runbook/),
      expect.stringMatching(/repository\.copies\[7\]\.objectLock: "objectLock" only applies to s3:\/\/ repositories/),
    ]);
    expect(found.join('\n')).not.toContain('hunter2');
  });
});

describe('repository.copies: after hot', () => {
  const text = (schedule: string) =>
    [
      'name: app',
      'sources: [{ name: data, path: /srv/data }]',
      'repository:',
      '  hot: { url: "file:///var/backups/app" }',
      '  password: { env: LIFEBOAT_PASSWORD }',
      '  copies: [{ name: offsite, url: "s3://acme-offsite/app", after: hot }]',
      schedule,
      'objectives: { rpo: 26h, rto: 15m }',
    ].join('\n');

  it('needs schedule.copy, which serve then runs as `lifeboat copy`', () => {
    const without = checkRunbookText(text('schedule: { backup: "0 2 * * *" }'), '/srv/runbooks/app.yaml', opts);
    expect(without.issues.map((i) => formatIssue(i))).toEqual([
      expect.stringMatching(/repository\.copies\[0\]\.after: A copy with "after: hot" is filled only by `lifeboat copy`, and there is no schedule\.copy \(expected schedule\.copy/),
    ]);
    const withSchedule = checkRunbookText(text('schedule: { backup: "0 2 * * *", copy: "0 6 * * *" }'), '/srv/runbooks/app.yaml', opts);
    expect(withSchedule.issues).toEqual([]);
    expect(withSchedule.runbook!.repository.copies![0]!.after).toBe('hot');
    expect(scheduledKinds(withSchedule.runbook!)).toEqual([
      { kind: 'backup', expression: '0 2 * * *' },
      { kind: 'copy', expression: '0 6 * * *' },
    ]);
    expect(scheduledInvocation('copy', withSchedule.runbook!)).toEqual({ command: 'copy', args: { runbook: 'app' }, argv: ['app'] });
  });
});
