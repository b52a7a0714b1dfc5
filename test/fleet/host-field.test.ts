/**
 * Runbooks name a host (issue 19): `host:` is loaded into the Runbook as
 * written; a bad one is refused with the file, line, field path and what a
 * host name looks like; `runsHere` and `localHostName` decide where a runbook
 * runs and what this host is called.
 */
import { describe, expect, it } from 'vitest';
import { checkRunbookText, formatIssue } from '../../src/core/runbook/index.js';
import { localHostName, runsHere } from '../../src/core/fleet/host-name.js';

const locations = { runbooksDir: '/srv/runbooks', home: '/srv/home', cwd: '/srv' };
const text = (host: string | undefined) =>
  [
    'name: app-data',
    ...(host === undefined ? [] : [`host: ${host}`]),
    'sources: [{ name: data, path: /srv/data }]',
    'repository: { hot: { url: "file:///var/backups/app-data" }, password: { env: LIFEBOAT_PASSWORD } }',
    'objectives: { rpo: 26h, rto: 5m }',
    '',
  ].join('\n');
const check = (host: string | undefined) => checkRunbookText(text(host), '/srv/runbooks/app-data.yaml', locations);

describe('runbook host:', () => {
  it('is kept as written; left out, the runbook belongs to no host', () => {
    expect(check('web-01.example.com').runbook?.host).toBe('web-01.example.com');
    expect(check(undefined).runbook).not.toHaveProperty('host');
  });

  it('refuses what is not a host name, saying where and what was expected', () => {
    expect(check('"web 01"').issues.map(formatIssue)).toEqual([
      'runbooks/app-data.yaml:2:7: host: Not a host name: "web 01" (expected letters, digits, ".", "_" and "-", starting with a letter or digit, e.g. web-01)',
    ]);
    expect(check('x'.repeat(64)).issues.map(formatIssue)[0]).toContain('host: Host name longer than 63 characters');
    expect(check('""').issues.map(formatIssue)[0]).toContain('host: Empty host name (expected a host name, e.g. web-01)');
  });

  it('runsHere: a runbook without host: runs anywhere, one with it only there; localHostName: LIFEBOAT_HOST, else the hostname', () => {
    expect(runsHere({}, 'web-01')).toBe(true);
    expect(runsHere({ host: 'web-01' }, 'web-01')).toBe(true);
    expect(runsHere({ host: 'web-01' }, 'db-01')).toBe(false);
    expect(localHostName({ LIFEBOAT_HOST: 'agent-7' })).toBe('agent-7');
    expect(localHostName({ LIFEBOAT_HOST: '  ' })).toBe(localHostName({}));
    expect(localHostName({}).length).toBeGreaterThan(0);
  });
});
