/**
 * buildSinks: the sinks a process can deliver to. Every configured sink whose
 * secret this process can read, the implicit `slack` sink of runbooks that
 * only say `alerts.slack` (each alert to its own runbook's channel), and the
 * rest `unavailable` with the reason, never thrown. Built sinks are real:
 * they deliver to the Slack stand-in and a recording HTTP server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { checkConfigText } from '../../../src/core/config/load.js';
import { buildSinks } from '../../../src/core/config/sinks.js';
import { checkRunbookText } from '../../../src/core/runbook/load.js';
import { defaultConfig, type LifeboatConfig, type Runbook } from '../../../src/core/index.js';
import { startRecordingHttp, type RecordingHttpServer } from '../../helpers/recording-http.js';
import { startFakeSlack, type FakeSlack } from '../../slack/fake-slack.js';
import { alertMessage, never } from '../notify/sinks/message.js';

let http: RecordingHttpServer | undefined;
let slack: FakeSlack | undefined;
afterEach(async () => {
  await http?.close();
  await slack?.close();
});

function config(text: string): LifeboatConfig {
  const check = checkConfigText(text, '/srv/lifeboat.yaml', '/srv');
  if (!check.config) throw new Error(check.issues.map((i) => i.message).join('\n'));
  return check.config;
}

function runbook(name: string, alerts: string): Runbook {
  const text = [`name: ${name}`, 'sources: [{ name: a, path: /srv/a }]', 'repository: { hot: { url: "file:///srv/r" }, password: { env: PW } }', 'objectives: { rpo: 26h, rto: 15m }', alerts, ''].join('\n');
  const check = checkRunbookText(text, `/srv/runbooks/${name}.yaml`, { runbooksDir: '/srv/runbooks', home: '/srv/h', cwd: '/srv' });
  if (!check.runbook) throw new Error(JSON.stringify(check.issues));
  return check.runbook;
}

describe('buildSinks', () => {
  it('builds the sinks whose secrets are here and lists the others as unavailable, with the reason', async () => {
    const built = await buildSinks(
      config(
        [
          'notify:',
          '  hooks: { type: webhook, url: "https://h.example.com", secret: { env: WEBHOOK_SECRET } }',
          '  open-hooks: { type: webhook, url: "https://o.example.com" }',
          '  phone: { type: ntfy, topic: ops }',
          '  pager: { type: pagerduty, routingKey: { env: PD_ROUTING_KEY } }',
          '  mail: { type: email, smtp: { host: smtp.example.com, user: me, password: { file: /nonexistent/smtp.password } }, from: a@example.com, to: [b@example.com] }',
          '  oncall-slack: { type: slack, channel: "#backups" }',
        ].join('\n'),
      ),
      [],
      { WEBHOOK_SECRET: 'whsec-1234567890', SLACK_BOT_TOKEN: 'xoxb-test' },
    );
    expect([...built.sinks.keys()].sort()).toEqual(['hooks', 'oncall-slack', 'open-hooks', 'phone']);
    expect([...built.sinks.values()].map((s) => [s.name, s.type]).sort()).toEqual([
      ['hooks', 'webhook'],
      ['oncall-slack', 'slack'],
      ['open-hooks', 'webhook'],
      ['phone', 'ntfy'],
    ]);
    expect(built.unavailable).toEqual([
      { name: 'pager', type: 'pagerduty', reason: 'Environment variable PD_ROUTING_KEY is not set (the runbook reads the PagerDuty routing key of sink "pager" in lifeboat.yaml from it)' },
      { name: 'mail', type: 'email', reason: 'Key file not found: /nonexistent/smtp.password (create it with mode 600; it holds the SMTP password of sink "mail" in lifeboat.yaml)' },
    ]);
  });

  it('adds the implicit slack sink for runbooks with alerts.slack and no notify, posting each alert to its runbook\'s channel', async () => {
    slack = await startFakeSlack();
    const runbooks = [runbook('app-data', 'alerts: { slack: "#app-alerts" }'), runbook('orders', 'alerts: { slack: "#orders" }'), runbook('routed', 'alerts: { slack: "#x", notify: [] }')];
    const built = await buildSinks(defaultConfig, runbooks, { SLACK_BOT_TOKEN: 'xoxb-implicit', SLACK_API_URL: slack.apiUrl });
    expect(built.unavailable).toEqual([]);
    const sink = built.sinks.get('slack');
    expect(sink?.type).toBe('slack');
    await sink?.send(alertMessage('raised'), never);
    await sink?.send(alertMessage('raised', { key: 'stale:orders', runbook: 'orders' }), never);
    const posts = slack.callsOf('chat.postMessage');
    expect(posts.map((c) => c.body.channel)).toEqual(['#app-alerts', '#orders']);
    expect(posts.map((c) => slack?.tokenOf(c))).toEqual(['xoxb-implicit', 'xoxb-implicit']);
  });

  it('without SLACK_BOT_TOKEN the implicit sink waits as unavailable; with no alerts.slack anywhere there is none', async () => {
    const built = await buildSinks(defaultConfig, [runbook('app-data', 'alerts: { slack: "#app-alerts" }')], {});
    expect(built.sinks.size).toBe(0);
    expect(built.unavailable).toEqual([{ name: 'slack', type: 'slack', reason: expect.stringContaining('Environment variable SLACK_BOT_TOKEN is not set') as unknown }]);
    expect(await buildSinks(defaultConfig, [runbook('quiet', 'alerts: {}')], {})).toEqual({ sinks: new Map(), unavailable: [] });
  });

  it('a built webhook sink signs with the resolved secret and reports this host', async () => {
    http = await startRecordingHttp();
    const built = await buildSinks(config(`notify:\n  hooks: { type: webhook, url: "${http.url}/in", secret: { env: WEBHOOK_SECRET } }\n`), [], { WEBHOOK_SECRET: 'whsec-abc' }, { host: 'backup-07' });
    await built.sinks.get('hooks')?.send(alertMessage(), never);
    const request = await http.waitFor((r) => r.path === '/in', { timeoutMs: 5000 });
    expect(request.headers['x-lifeboat-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(JSON.parse(request.body).lifeboat).toEqual({ version: '0.1.0', host: 'backup-07' });
  });
});
