/**
 * A runbook's alert routing (`alerts.notify`, `alerts.repeat`, `alerts.ping`)
 * and its check against lifeboat.yaml: `runbooks validate` names a route to a
 * sink lifeboat.yaml does not define, with both files; running the runbook
 * does not refuse it (a notification mistake never stops a backup).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkConfigText } from '../../../src/core/config/load.js';
import { formatIssue, loadRunbook, validateRunbookFile, type LifeboatConfig } from '../../../src/core/index.js';
import { checkRunbookText } from '../../../src/core/runbook/load.js';
import { ensureCliBuilt, runCli } from '../../helpers/cli.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('runbook-routes');

const base = [
  'name: app',
  'sources: [{ name: a, path: /srv/a }]',
  'repository: { hot: { url: "file:///srv/repo" }, password: { env: LIFEBOAT_PASSWORD } }',
  'objectives: { rpo: 26h, rto: 15m }',
];
const where = { runbooksDir: '/srv/runbooks', home: '/srv/home', cwd: '/srv' };
const check = (alerts: string, config?: LifeboatConfig) => checkRunbookText([...base, alerts, ''].join('\n'), '/srv/runbooks/app.yaml', { ...where, ...(config ? { config } : {}) });

describe("a runbook's alert routes", () => {
  it('reads routes (a bare name: every severity), the repeat interval and the ping URL by reference', () => {
    const { runbook, issues } = check('alerts: { slack: "#backups", notify: [oncall-slack, { sink: pager, severity: critical }], repeat: 2h, ping: { url: { file: ping.url } } }');
    expect(issues).toEqual([]);
    expect(runbook?.alerts).toMatchObject({
      slack: '#backups',
      notify: [{ sink: 'oncall-slack' }, { sink: 'pager', severity: 'critical' }],
      repeatMs: 2 * 3600_000,
      ping: { url: { kind: 'file', path: '/srv/runbooks/ping.url', create: false } },
    });
  });

  it('keeps today\'s alerts.slack alone working: no routes of its own', () => {
    const { runbook } = check('alerts: { slack: "#backups" }');
    expect(runbook?.alerts.notify).toBeUndefined();
    expect(runbook?.alerts.slack).toBe('#backups');
  });

  it('refuses a ping URL written inline (it is the credential), bad routes and a zero repeat, each at its place', () => {
    const { issues } = check('alerts: { notify: [Pager, { sink: hooks, severity: loud }, hooks], repeat: 0s, ping: { url: "https://hc-ping.com/0b9d-do-not-print" } }');
    const lines = issues.map(formatIssue);
    expect(lines).toEqual([
      'runbooks/app.yaml:5:20: alerts.notify[0]: Not a kebab-case sink name: "Pager" (expected lowercase letters, digits and single hyphens, e.g. oncall-slack)',
      'runbooks/app.yaml:5:52: alerts.notify[1].severity: Unknown severity (expected one of info, warning, critical: that severity and above)',
      'runbooks/app.yaml:5:60: alerts.notify[2]: Sink "hooks" is routed twice (expected each sink once)',
      'runbooks/app.yaml:5:76: alerts.repeat: Duration must be more than zero: "0s" (expected e.g. 15m, 26h, 30d)',
      'runbooks/app.yaml:5:93: alerts.ping.url: A ping URL must not be written in a runbook: whoever has it can report success (expected a reference: { env: NAME } or { file: PATH })',
    ]);
    expect(lines.join('\n')).not.toMatch(/do-not-print/);
  });
});

describe('routes checked against lifeboat.yaml', () => {
  const config = checkConfigText('notify:\n  oncall-slack: { type: slack, channel: "#backups" }\n  hooks: { type: webhook, url: "https://h.example.com" }\n', '/srv/lifeboat.yaml', '/srv').config;

  it('names a sink lifeboat.yaml does not define, with both files', () => {
    expect(config).toBeDefined();
    const { runbook, issues } = check('alerts: { notify: [oncall-slack, { sink: pager, severity: critical }] }', config);
    expect(runbook).toBeUndefined();
    expect(issues.map(formatIssue)).toEqual(['runbooks/app.yaml:5:34: alerts.notify[1]: No sink named "pager": not under notify: in lifeboat.yaml; defined: oncall-slack, hooks']);
  });

  it('says when there is no lifeboat.yaml at all', () => {
    const { issues } = check('alerts: { notify: [pager] }', { notify: {}, alerts: { repeatMs: 1, notify: [] } });
    expect(issues.map(formatIssue)).toEqual([
      'runbooks/app.yaml:5:20: alerts.notify[0]: No sink named "pager": no lifeboat.yaml was found (--config, LIFEBOAT_CONFIG, ./lifeboat.yaml, /etc/lifeboat/lifeboat.yaml)',
    ]);
  });

  it('passes routes to defined sinks, and never checks them when a runbook is loaded to run', async () => {
    expect(check('alerts: { notify: [hooks, oncall-slack] }', config).issues).toEqual([]);
    const dir = await tempDir();
    await writeFile(join(dir, 'app.yaml'), [...base, 'alerts: { notify: [pager] }', ''].join('\n'));
    const loaded = await loadRunbook(join(dir, 'app.yaml'), { runbooksDir: dir, home: dir, cwd: dir });
    expect(loaded.alerts.notify).toEqual([{ sink: 'pager' }]);
    const validated = await validateRunbookFile(join(dir, 'app.yaml'), { runbooksDir: dir, home: dir, cwd: dir, ...(config ? { config } : {}) });
    expect(validated.issues).toHaveLength(1);
  });

  it('`lifeboat runbooks validate --config` exits 2 naming the runbook file and lifeboat.yaml; a bad lifeboat.yaml stops any command with exit 2', async () => {
    await ensureCliBuilt();
    const dir = await tempDir();
    await mkdir(join(dir, 'runbooks'));
    await writeFile(join(dir, 'runbooks', 'app.yaml'), [...base, 'alerts: { notify: [oncall-slack, pager] }', ''].join('\n'));
    await writeFile(join(dir, 'ops.yaml'), 'notify:\n  oncall-slack: { type: slack, channel: "#backups" }\n');
    const bad = await runCli(['runbooks', 'validate', '--config', 'ops.yaml'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('runbooks/app.yaml:5:34: alerts.notify[1]: No sink named "pager": not under notify: in ops.yaml; defined: oncall-slack');

    await writeFile(join(dir, 'ops.yaml'), 'notify:\n  oncall-slack: { type: slack, channel: "#backups" }\n  pager: { type: pagerduty, routingKey: { env: PD_ROUTING_KEY } }\n');
    const good = await runCli(['runbooks', 'validate', '--config=ops.yaml'], { cwd: dir });
    expect(good.stderr).toBe('');
    expect(good.code).toBe(0);

    await writeFile(join(dir, 'lifeboat.yaml'), 'notify:\n  pager: { type: pagerduty, routingKey: inline-key-do-not-print }\n');
    const broken = await runCli(['runbooks', 'validate'], { cwd: dir });
    expect(broken.code).toBe(2);
    expect(broken.stdout + broken.stderr).toContain('lifeboat.yaml:2:41: notify.pager.routingKey: A PagerDuty routing key must not be written in lifeboat.yaml');
    expect(broken.stdout + broken.stderr).not.toContain('do-not-print');

    const missing = await runCli(['status', '--config', 'nope.yaml'], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stdout + missing.stderr).toContain('Config file not found: nope.yaml (given by --config)');
  });
});
