/**
 * An agent keeps the runbooks it validated (src/core/fleet/job-runbook.ts):
 * the same text in the same places gives the same runbook without a second
 * parse, as a copy of its own; any other text, a text that does not validate
 * or one naming another host than its job is checked (and refused) as before.
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runbookOfJob, sha256Hex, type FleetJob } from '../../src/core/index.js';

const where = { runbooksDir: 'runbooks', home: '/var/lib/lifeboat', cwd: '/srv/agent' };

function job(doc: Record<string, unknown>, host = 'web-01'): FleetJob {
  const content = stringify(doc);
  return {
    v: 1,
    kind: 'backup',
    args: { runbook: String(doc.name) },
    argv: [String(doc.name)],
    runbook: { name: String(doc.name), host, content, sha256: sha256Hex(content) },
    actor: { face: 'scheduler', user: 'scheduler' },
    requestedAt: new Date(0).toISOString(),
  };
}

const doc = (paths: string) => ({
  name: 'app-data',
  host: 'web-01',
  sources: [{ name: 'files', path: paths }],
  repository: { hot: { url: 'file://${LIFEBOAT_HOME}/repos/app-data' }, password: { env: 'LIFEBOAT_PASSWORD' } },
  objectives: { rpo: '26h', rto: '5m' },
});

describe('runbookOfJob keeps what it validated', () => {
  it('the same text again: an equal runbook, a copy of its own', () => {
    const first = runbookOfJob(job(doc('data')), 'j1', where);
    const second = runbookOfJob(job(doc('data')), 'j2', where);
    expect(second).toEqual(first);
    expect(first.repository.hot.url).toBe('file:///var/lib/lifeboat/repos/app-data');
    // A job that changes its runbook does not change the next job's.
    (second.sources[0] as { name: string }).name = 'changed';
    expect(runbookOfJob(job(doc('data')), 'j3', where).sources[0]!.name).toBe('files');
  });

  it('another text, or the same text read in other places, is validated again', () => {
    expect(runbookOfJob(job(doc('data')), 'j1', where).sources[0]).toMatchObject({ path: '/srv/agent/runbooks/data' });
    expect(runbookOfJob(job(doc('other')), 'j2', where).sources[0]).toMatchObject({ path: '/srv/agent/runbooks/other' });
    expect(runbookOfJob(job(doc('data')), 'j3', { ...where, cwd: '/opt' }).sources[0]).toMatchObject({ path: '/opt/runbooks/data' });
  });

  it('a text that does not validate is refused every time', () => {
    const bad = { ...doc('data'), objectives: { rpo: 'soon', rto: '5m' } };
    for (const id of ['j1', 'j2']) expect(() => runbookOfJob(job(bad), id, where)).toThrow(new RegExp(`Fleet job ${id}: the runbook it carries does not validate here`));
  });

  it('a kept text queued for another host than it names is refused', () => {
    runbookOfJob(job(doc('data')), 'j1', where);
    expect(() => runbookOfJob(job(doc('data'), 'db-02'), 'j2', where)).toThrow(/Fleet job j2: queued for host db-02, but the runbook it carries says host: web-01/);
  });
});
