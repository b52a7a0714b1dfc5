/**
 * The console's hosts pane (issue 19): H opens it when the poll carries the
 * fleet's hosts (a PostgreSQL store), says why not otherwise; the pane shows
 * each host's state, last seen, version and running job, and its runbooks'
 * last backups; withHosts builds those hosts from the registry's rows and the
 * same poll's runbook rows.
 */
import { stripVTControlCharacters } from 'node:util';
import { cleanup, render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import type { HostRecord } from '../../src/core/fleet/hosts.js';
import { Screen } from '../../src/tui/app.js';
import { HostsPane } from '../../src/tui/components/HostsPane.js';
import { withHosts } from '../../src/tui/load-hosts.js';
import { initialState, reduce, type TuiState } from '../../src/tui/state.js';
import { commandNames, iso, now, snapshot } from './fixtures.js';

const frame = (f: string | undefined): string => stripVTControlCharacters(f ?? '');
afterEach(() => cleanup());

const row = (name: string, msAgo: number, fields: Partial<HostRecord> = {}): HostRecord => ({
  name,
  version: '0.1.0',
  platform: 'linux x64',
  pid: 100,
  runningJob: null,
  firstSeen: iso(86_400_000),
  lastSeen: iso(msAgo),
  state: 'up',
  ...fields,
});

/** The fixtures' runbooks, demo on db-01 and web on web-01 (which its agent is backing up now), web-02 named by nobody here. */
async function fleetSnapshot() {
  const base = snapshot();
  const runbooks = [{ ...base.runbooks[0]!, host: 'db-01' }, { ...base.runbooks[1]!, host: 'web-01' }];
  const rows = [row('db-01', 5 * 60_000), row('web-01', 4_000, { runningJob: { jobId: 'j1', runbook: 'web', kind: 'backup' } })];
  return withHosts(async () => ({ ...base, runbooks }), async () => rows)();
}

describe('the hosts pane', () => {
  it('withHosts: each host with its state judged from last seen, its running job and its runbooks’ last backups', async () => {
    const s = await fleetSnapshot();
    expect(s.hosts?.map((h) => [h.name, h.state, h.runningJob?.runbook ?? null, h.runbooks.map((r) => `${r.name} ${r.lastBackup?.status ?? 'never'}`)])).toEqual([
      ['db-01', 'lost', null, ['demo succeeded']],
      ['web-01', 'up', 'web', ['web failed']],
    ]);
  });

  it('shows a line per host and one per runbook of it', async () => {
    const s = await fleetSnapshot();
    const lines = frame(render(<HostsPane hosts={s.hosts!} now={now} columns={80} rows={20} />).lastFrame()).split('\n');
    expect(lines[0]).toBe('2 hosts (1 up, 1 lost) · Esc: back');
    expect(lines[1]).toMatch(/^db-01\s+✗ LOST\s+seen 5m ago · 0\.1\.0$/);
    expect(lines[2]).toMatch(/^\s+demo\s+✓ succeeded 9m ago$/);
    expect(lines[3]).toMatch(/^web-01\s+✓ up\s+seen 4\.0s ago · 0\.1\.0 · running backup of web$/);
    expect(lines[4]).toMatch(/^\s+web\s+✗ failed 30h ago$/);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
  });

  it('H opens it when the poll has hosts, and the header names it; without hosts it says why', async () => {
    const withFleet: TuiState = reduce(initialState({ commandNames }), { type: 'snapshot', snapshot: await fleetSnapshot() });
    const open = reduce(withFleet, { type: 'key', input: 'H', key: {} });
    expect(open.screen).toBe('hosts');
    const f = frame(render(<Screen state={open} now={now} />).lastFrame());
    expect(f).toContain('[H hosts]');
    expect(f).toContain('2 hosts (1 up, 1 lost)');
    expect(reduce(open, { type: 'key', input: '', key: { escape: true } }).screen).toBe('dashboard');

    const single = reduce(reduce(initialState({ commandNames }), { type: 'snapshot', snapshot: snapshot() }), { type: 'key', input: 'H', key: {} });
    expect(single.screen).toBe('dashboard');
    expect(single.message?.text).toBe('no hosts to show: the JSON store has no agents (a fleet shares a PostgreSQL store)');
  });
});
