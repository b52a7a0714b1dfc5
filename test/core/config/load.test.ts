/**
 * lifeboat.yaml: the shape the engine gets, every problem reported at once at
 * its line and column, secrets only by reference (and never quoted back), and
 * the order the file is looked for in.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkConfigText } from '../../../src/core/config/load.js';
import { defaultConfig, findConfig, formatIssue, isLifeboatError, loadConfig } from '../../../src/core/index.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('config');

/** The problems of a lifeboat.yaml text, as printed. */
function problems(text: string): string[] {
  const check = checkConfigText(text, '/srv/ops/lifeboat.yaml', '/srv/ops');
  expect(check.config).toBeUndefined();
  return check.issues.map(formatIssue);
}

describe('lifeboat.yaml', () => {
  it('reads every kind of sink, with the defaults filled in and file references relative to its folder', () => {
    const check = checkConfigText(
      [
        'notify:',
        '  oncall-slack: { type: slack, channel: "#backups" }',
        '  hooks: { type: webhook, url: "https://hooks.example.com/lifeboat", secret: { env: WEBHOOK_SECRET } }',
        '  phone: { type: ntfy, topic: lifeboat-ops, token: { env: NTFY_TOKEN } }',
        '  pager: { type: pagerduty, routingKey: { env: PD_ROUTING_KEY } }',
        '  mail:',
        '    type: email',
        '    smtp: { host: smtp.example.com, port: 465, user: lifeboat, password: { file: keys/smtp.password } }',
        '    from: "Lifeboat <lifeboat@example.com>"',
        '    to: [oncall@example.com]',
        'alerts:',
        '  repeat: 2h',
        '  notify: [oncall-slack, { sink: pager, severity: critical }]',
      ].join('\n'),
      '/srv/ops/lifeboat.yaml',
      '/srv/ops',
    );
    expect(check.issues).toEqual([]);
    expect(check.config).toEqual({
      file: '/srv/ops/lifeboat.yaml',
      notify: {
        'oncall-slack': { type: 'slack', channel: '#backups', token: { kind: 'env', name: 'SLACK_BOT_TOKEN' } },
        hooks: { type: 'webhook', url: 'https://hooks.example.com/lifeboat', secret: { kind: 'env', name: 'WEBHOOK_SECRET' } },
        phone: { type: 'ntfy', url: 'https://ntfy.sh', topic: 'lifeboat-ops', token: { kind: 'env', name: 'NTFY_TOKEN' } },
        pager: { type: 'pagerduty', routingKey: { kind: 'env', name: 'PD_ROUTING_KEY' }, url: 'https://events.pagerduty.com/v2/enqueue' },
        mail: {
          type: 'email',
          smtp: { host: 'smtp.example.com', port: 465, secure: true, user: 'lifeboat', password: { kind: 'file', path: '/srv/ops/keys/smtp.password', create: false } },
          from: 'Lifeboat <lifeboat@example.com>',
          to: ['oncall@example.com'],
        },
      },
      alerts: { repeatMs: 2 * 3600_000, notify: [{ sink: 'oncall-slack' }, { sink: 'pager', severity: 'critical' }] },
    });
  });

  it('is every default when empty', () => {
    const check = checkConfigText('# nothing yet\n', '/srv/ops/lifeboat.yaml', '/srv/ops');
    expect(check.config?.notify).toEqual({});
    expect(check.config?.alerts).toEqual(defaultConfig.alerts);
  });

  it('reports every problem at once, each at its line and column', () => {
    expect(
      problems(
        [
          'notify:',
          '  pager: { type: pagerduty, routingKey: { env: PD_ROUTING_KEY }, url: "ftp://events" }',
          '  Oncall_Slack: { type: slack, channel: "#backups" }',
          '  hooks: { type: webhook, url: "https://h.example.com", secrett: { env: WEBHOOK_SECRET } }',
          '  sms: { type: carrier-pigeon }',
          '  mail: { type: email, smtp: { host: smtp.example.com, port: 99999 }, from: nobody, to: [] }',
          'alerts:',
          '  repeat: 4x',
          '  notify: [pager, { sink: hooks, severity: urgent }, nowhere]',
          'store: postgres',
        ].join('\n'),
      ),
    ).toEqual([
      'lifeboat.yaml:2:71: notify.pager.url: Not an http(s) URL: "ftp://events" (expected e.g. https://events.pagerduty.com/v2/enqueue)',
      'lifeboat.yaml:3:3: notify.Oncall_Slack: Not a kebab-case sink name: "Oncall_Slack" (expected lowercase letters, digits and single hyphens, e.g. oncall-slack)',
      'lifeboat.yaml:4:57: notify.hooks.secrett: Unknown field (did you mean "secret"?)',
      'lifeboat.yaml:5:16: notify.sms.type: Unknown sink type "carrier-pigeon" (expected one of slack, webhook, ntfy, pagerduty, email)',
      'lifeboat.yaml:6:62: notify.mail.smtp.port: Not a port (expected 1–65535, e.g. 587)',
      'lifeboat.yaml:6:77: notify.mail.from: Not an email address: "nobody" (expected e.g. oncall@example.com or "Lifeboat <lifeboat@example.com>")',
      'lifeboat.yaml:6:89: notify.mail.to: No recipients (expected at least one address, e.g. ["oncall@example.com"])',
      'lifeboat.yaml:8:11: alerts.repeat: Unknown duration: "4x" (expected e.g. 15m, 26h, 30d)',
      'lifeboat.yaml:9:44: alerts.notify[1].severity: Unknown severity (expected one of info, warning, critical: that severity and above)',
      'lifeboat.yaml:9:54: alerts.notify[2]: No sink named "nowhere" under notify: (defined: pager, Oncall_Slack, hooks, sms, mail)',
      'lifeboat.yaml:10:8: store: Got "postgres" (expected a mapping)',
    ]);
  });

  it('refuses a secret written inline, saying to use { env } or { file }, and never quotes it', () => {
    const lines = problems(
      [
        'notify:',
        '  pager: { type: pagerduty, routingKey: R0UT1NGKEY-do-not-print }',
        '  mail: { type: email, smtp: { host: h.example.com, password: hunter2-do-not-print }, from: a@example.com, to: [b@example.com] }',
        '  hooks: { type: webhook, url: "https://h.example.com", secret: { env: lower_case } }',
      ].join('\n'),
    );
    expect(lines).toEqual([
      'lifeboat.yaml:2:41: notify.pager.routingKey: A PagerDuty routing key must not be written in lifeboat.yaml (expected a reference: { env: NAME } or { file: PATH })',
      'lifeboat.yaml:3:63: notify.mail.smtp.password: An SMTP password must not be written in lifeboat.yaml (expected a reference: { env: NAME } or { file: PATH })',
      'lifeboat.yaml:4:72: notify.hooks.secret.env: Not an environment variable name (expected capitals, digits and "_", e.g. PD_ROUTING_KEY)',
    ]);
    expect(lines.join('\n')).not.toMatch(/do-not-print/);
  });

  it('reports a YAML syntax error at its place', () => {
    expect(problems('notify:\n  a: { type: slack\n')[0]).toMatch(/^lifeboat\.yaml:\d+:\d+: /);
  });
});

describe('finding lifeboat.yaml', () => {
  const sink = (name: string) => `notify:\n  ${name}: { type: webhook, url: "https://${name}.example.com" }\n`;

  async function places() {
    const root = await tempDir();
    const cwd = join(root, 'work');
    await mkdir(cwd);
    const system = join(root, 'etc-lifeboat.yaml');
    const named = join(root, 'named.yaml');
    const fromEnv = join(root, 'from-env.yaml');
    await writeFile(system, sink('system'));
    await writeFile(named, sink('named'));
    await writeFile(fromEnv, sink('from-env'));
    return { root, cwd, system, named, fromEnv };
  }
  const names = (c: { notify: object } | undefined) => Object.keys(c?.notify ?? {});

  it('takes --config, then LIFEBOAT_CONFIG, then ./lifeboat.yaml, then the system file', async () => {
    const p = await places();
    await writeFile(join(p.cwd, 'lifeboat.yaml'), sink('cwd'));
    const env = { LIFEBOAT_CONFIG: p.fromEnv };
    expect(names(await loadConfig({ explicit: p.named, env, cwd: p.cwd, systemFile: p.system }))).toEqual(['named']);
    expect(names(await loadConfig({ env, cwd: p.cwd, systemFile: p.system }))).toEqual(['from-env']);
    expect(names(await loadConfig({ env: {}, cwd: p.cwd, systemFile: p.system }))).toEqual(['cwd']);
    const elsewhere = join(p.root, 'empty');
    await mkdir(elsewhere);
    const system = await loadConfig({ env: {}, cwd: elsewhere, systemFile: p.system });
    expect(names(system)).toEqual(['system']);
    expect(system.file).toBe(p.system);
  });

  it('is defaultConfig when there is none anywhere', async () => {
    const p = await places();
    const config = await loadConfig({ env: {}, cwd: p.cwd, systemFile: join(p.root, 'absent.yaml') });
    expect(config).toBe(defaultConfig);
    expect(await findConfig({ env: {}, cwd: p.cwd, systemFile: join(p.root, 'absent.yaml') })).toBeUndefined();
  });

  it('refuses a file named by --config or LIFEBOAT_CONFIG that does not exist, instead of falling back', async () => {
    const p = await places();
    await writeFile(join(p.cwd, 'lifeboat.yaml'), sink('cwd'));
    const missing = await loadConfig({ explicit: 'nope.yaml', env: {}, cwd: p.cwd, systemFile: p.system }).catch((e: unknown) => e);
    expect(isLifeboatError(missing, 'USAGE') && missing.message).toBe('Config file not found: nope.yaml (given by --config)');
    const fromEnv = await loadConfig({ env: { LIFEBOAT_CONFIG: join(p.root, 'gone.yaml') }, cwd: p.cwd, systemFile: p.system }).catch((e: unknown) => e);
    expect(isLifeboatError(fromEnv, 'USAGE') && fromEnv.message).toBe(`Config file not found: ${join(p.root, 'gone.yaml')} (given by LIFEBOAT_CONFIG)`);
  });

  it('refuses a file with problems, naming every one (exit 2)', async () => {
    const p = await places();
    await writeFile(join(p.cwd, 'lifeboat.yaml'), 'notify:\n  pager: { type: pagerduty }\nalerts: { repeat: 0s }\n');
    const e = await loadConfig({ env: {}, cwd: p.cwd, systemFile: p.system }).catch((err: unknown) => err);
    expect(isLifeboatError(e, 'CONFIG_INVALID')).toBe(true);
    expect((e as Error).message.split('\n')).toEqual([
      'lifeboat.yaml:2:3: notify.pager.routingKey: Missing required field (expected a reference: { env: NAME } or { file: PATH })',
      'lifeboat.yaml:3:19: alerts.repeat: Duration must be more than zero: "0s" (expected e.g. 15m, 26h, 30d)',
    ]);
    expect((e as { exitCode: number }).exitCode).toBe(2);
  });
});
