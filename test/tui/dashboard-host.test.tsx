/**
 * The console's runbook list with a fleet (issue 19): a HOST column appears
 * when a runbook names a host (`any` for one that does not), fits 80 columns
 * and a 70-column terminal, marks a host whose agent is lost, and the
 * selected runbook's detail says its host.
 * A single machine's console (no runbook names a host) keeps its columns.
 */
import { stripVTControlCharacters } from 'node:util';
import { cleanup, render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { Dashboard } from '../../src/tui/components/Dashboard.js';
import { now, snapshot } from './fixtures.js';

const frame = (f: string | undefined): string => stripVTControlCharacters(f ?? '');
afterEach(() => cleanup());

describe('Dashboard: the host column', () => {
  const [demo, web] = snapshot().runbooks;
  const fleet = [{ ...demo!, host: 'db-01' }, web!];
  const props = { runbooks: fleet, selected: 0, runs: [], now, columns: 80, loading: false };

  it('shows each runbook’s host, `any` for one without, within 80 columns', () => {
    const lines = frame(render(<Dashboard {...props} />).lastFrame()).split('\n');
    expect(lines[0]).toMatch(/RUNBOOK\s+HOST\s+LAST BACKUP\s+AGE\/RPO\s+NEXT\s+RTO\/TARGET.*ALERTS/);
    expect(lines[1]).toMatch(/▸ demo\s+db-01\s+✓ succeeded/);
    expect(lines[2]).toMatch(/web\s+any\s+✗ failed/);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
    expect(lines.join('\n')).toMatch(/host\s+db-01 \(its agent runs this runbook's jobs\)/);
  });

  it('marks a host whose agent is lost or was never seen, from the poll’s hosts', () => {
    const hosts = [{ name: 'db-01', state: 'lost' as const, runningJob: null, runbooks: [] }];
    const lines = frame(render(<Dashboard {...props} hosts={hosts} />).lastFrame()).split('\n');
    expect(lines[1]).toMatch(/▸ demo\s+✗ db-01\s+✓ succeeded/);
    const up = frame(render(<Dashboard {...props} hosts={[{ ...hosts[0]!, state: 'up' as const }]} />).lastFrame()).split('\n');
    expect(up[1]).toMatch(/▸ demo\s+db-01\s+✓ succeeded/);
  });

  it('narrows to 70 columns without wrapping', () => {
    const lines = frame(render(<Dashboard {...props} columns={70} />).lastFrame()).split('\n');
    expect(lines[1]).toMatch(/▸ demo\s+db-01\s+✓ succ/);
    for (const l of lines.slice(0, 3)) expect(l.length).toBeLessThanOrEqual(70);
  });

  it('is not there when no runbook names a host', () => {
    const f = frame(render(<Dashboard {...props} runbooks={snapshot().runbooks} />).lastFrame());
    expect(f.split('\n')[0]).not.toContain('HOST');
    expect(f).not.toMatch(/^host\s/m);
  });
});
