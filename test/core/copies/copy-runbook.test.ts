/** A copy seen as a runbook of its own (src/core/copies/copy-runbook.ts). */
import { describe, expect, it } from 'vitest';
import { findCopy, runbookForCopy } from '../../../src/core/copies/copy-runbook.js';
import { isLifeboatError } from '../../../src/core/errors.js';
import { learnRunbook, Redactor } from '../../../src/core/redaction/index.js';
import { checkRunbookText } from '../../../src/core/runbook/load.js';

const opts = { runbooksDir: '/srv/runbooks', home: '/var/lib/lifeboat', cwd: '/srv/runbooks' };
const { runbook } = checkRunbookText(
  [
    'name: app',
    'sources: [{ name: data, path: /srv/data }]',
    'repository:',
    '  hot: { url: "file:///var/backups/app" }',
    '  password: { env: LIFEBOAT_PASSWORD }',
    '  copies:',
    '    - { name: offsite, url: "s3://acme-offsite/app", region: eu-west-1, password: { env: OFFSITE_PASSWORD }, keep: { last: 3 } }',
    '    - { name: usb, url: "file:///mnt/usb/app" }',
    'retention: { daily: 7 }',
    'objectives: { rpo: 26h, rto: 15m }',
  ].join('\n'),
  '/srv/runbooks/app.yaml',
  opts,
);

describe('runbookForCopy', () => {
  it('makes the copy the hot repository, with its password and its keep as the retention; name, sources and copies stay', () => {
    const view = runbookForCopy(runbook!, findCopy(runbook!, 'offsite'));
    expect(view.name).toBe('app');
    expect(view.sources).toBe(runbook!.sources);
    expect(view.repository.hot).toEqual({ url: 's3://acme-offsite/app', region: 'eu-west-1' });
    expect(view.repository.password).toEqual({ kind: 'env', name: 'OFFSITE_PASSWORD' });
    expect(view.retention).toEqual({ last: 3 });
    expect(view.repository.copies).toBe(runbook!.repository.copies);
  });

  it('a copy without password or keep uses the runbook’s password and keeps everything', () => {
    const view = runbookForCopy(runbook!, findCopy(runbook!, 'usb'));
    expect(view.repository.password).toEqual({ kind: 'env', name: 'LIFEBOAT_PASSWORD' });
    expect(view.retention).toBeUndefined();
  });

  it('an unknown copy is a usage error naming the runbook’s copies', () => {
    let error: unknown;
    try {
      findCopy(runbook!, 'nowhere');
    } catch (e) {
      error = e;
    }
    expect(isLifeboatError(error, 'USAGE')).toBe(true);
    expect((error as Error).message).toBe('runbook app (/srv/runbooks/app.yaml) has no copy named "nowhere": its copies are offsite, usb');
  });
});

describe('learnRunbook with copies', () => {
  it('redacts each copy’s password like the hot one’s', async () => {
    const redactor = new Redactor();
    await learnRunbook(redactor, runbook!, { LIFEBOAT_PASSWORD: 'hot password value', OFFSITE_PASSWORD: 'offsite password value' });
    expect(redactor.redact('failed with offsite password value and hot password value')).not.toMatch(/password value/);
  });
});
