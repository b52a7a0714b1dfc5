/**
 * The Slack face end to end, through Bolt's real HTTPReceiver on 127.0.0.1 with
 * signed requests, against a local stand-in for Slack's Web API: real backups
 * and drills of a temp runbook, access by user id and by @group, alerts with
 * their Acknowledge button, drill announcements, and the audit of it all.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LogLevel } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { invokeCommand } from '../../commands/invoke.js';
import { restoreDrillCommand } from '../../commands/restore-drill.js';
import { initRunbookRepository } from '../../src/core/repo/open-repository.js';
import { loadRunbook } from '../../src/core/runbook/index.js';
import { systemClock } from '../../src/core/clock.js';
import { ignoreEvents } from '../../src/core/events.js';
import { openJsonStore, type Store } from '../../src/core/store/index.js';
import type { AlertRecord } from '../../src/core/store/records.js';
import { ACK_ACTION_ID, DEFAULT_REPEAT_MS, slackSink } from '../../src/core/index.js';
import { createSlackApp, type SlackFace } from '../../src/slack/app.js';
import { TEST_KEYS_ENV } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/temp-dirs.js';
import { buttonBody, postSigned, slashBody, startFakeSlack, type FakeSlack, type RecordedCall } from './fake-slack.js';

const SECRET = 'test-signing-secret';
const CHANNEL = 'C0BACKUPS';
const ALLOWED = 'U0ALLOWED';
const GROUPIE = 'U0GROUPIE';
const OUTSIDER = 'U0OUTSIDER';

const tempDir = useTempDirs('slack');
let fake: FakeSlack;
let face: SlackFace;
let store: Store;
let port: number;
let dir: string;
let env: Record<string, string>;
let requests = 0;

const text = (c: RecordedCall | undefined) => JSON.stringify(c?.body ?? {});

async function slash(command: string, commandText: string, user: string): Promise<{ status: number; response: RecordedCall[] }> {
  const id = `r${++requests}`;
  const res = await postSigned(port, slashBody({ command, text: commandText, user, channel: CHANNEL, responseUrl: fake.responseUrl(id) }), { secret: SECRET });
  await face.idle();
  return { status: res.status, response: fake.calls.filter((c) => c.method === 'response_url' && c.responseId === id) };
}

beforeAll(async () => {
  fake = await startFakeSlack();
  fake.groups.push({ id: 'S0ONCALL', handle: 'storage-oncall', users: [GROUPIE, 'U0SOMEONE'] });
  dir = await tempDir();
  await mkdir(join(dir, 'data', 'sub'), { recursive: true });
  await writeFile(join(dir, 'data', 'index.json'), JSON.stringify({ hello: 'world' }));
  await writeFile(join(dir, 'data', 'sub', 'notes.txt'), 'lifeboat '.repeat(5000));
  await mkdir(join(dir, 'runbooks'));
  await writeFile(
    join(dir, 'runbooks', 'demo.yaml'),
    stringify({
      name: 'demo',
      description: 'User uploads',
      sources: [{ name: 'data', path: join(dir, 'data') }],
      repository: { hot: { url: `file://${join(dir, 'repo')}` }, password: { env: 'LIFEBOAT_PASSWORD' } },
      objectives: { rpo: '26h', rto: '5m' },
      drill: { check: 'test -s data/index.json', announce: '5m' },
      alerts: { slack: '#backups' },
      access: { backup: [ALLOWED, '@storage-oncall'], drill: ['@storage-oncall'] },
    }),
  );
  await writeFile(
    join(dir, 'runbooks', 'broken.yaml'),
    stringify({
      name: 'broken',
      sources: [{ name: 'db', command: 'echo "pg_dump: connection refused" >&2; exit 3' }],
      repository: { hot: { url: `file://${join(dir, 'repo-broken')}` }, password: { env: 'LIFEBOAT_PASSWORD' } },
      objectives: { rpo: '26h', rto: '5m' },
      alerts: { slack: '#backups' },
      access: { backup: [ALLOWED], drill: [ALLOWED] },
    }),
  );
  env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LIFEBOAT_PASSWORD: 'slack tests', ...TEST_KEYS_ENV };
  const home = join(dir, '.lifeboat');
  const runbook = await loadRunbook('demo', { runbooksDir: join(dir, 'runbooks'), home, cwd: dir });
  await initRunbookRepository(runbook, { env, home });
  await initRunbookRepository(await loadRunbook('broken', { runbooksDir: join(dir, 'runbooks'), home, cwd: dir }), { env, home });
  store = await openJsonStore(home);
  face = createSlackApp({
    botToken: 'xoxb-test',
    connection: { mode: 'http', signingSecret: SECRET, port: 0 },
    home,
    runbooksDir: join(dir, 'runbooks'),
    cwd: dir,
    env,
    store: async () => store,
    slackApiUrl: fake.apiUrl,
    updateIntervalMs: 100,
    retries: 0,
    logLevel: LogLevel.ERROR,
    // lifeboat.yaml as serve loaded it: runbooks that name no route send critical alerts to `team-hook`.
    config: { notify: { 'team-hook': { type: 'webhook', url: 'http://127.0.0.1:9/hook' } }, alerts: { repeatMs: DEFAULT_REPEAT_MS, notify: [{ sink: 'team-hook', severity: 'critical' }] } },
  });
  port = (await face.start()).port!;
});

afterAll(async () => {
  await face?.stop();
  await store?.close();
  await fake?.close();
});

describe('Slack face through the real HTTPReceiver', () => {
  it('rejects a bad or stale signature with 401 and runs nothing', async () => {
    const body = slashBody({ command: '/backup', text: 'demo', user: ALLOWED, channel: CHANNEL, responseUrl: fake.responseUrl('x') });
    const bad = await postSigned(port, body, { secret: SECRET, signature: 'v0=' + '0'.repeat(64) });
    const wrongSecret = await postSigned(port, body, { secret: 'not-the-secret' });
    const stale = await postSigned(port, body, { secret: SECRET, timestamp: Math.floor(Date.now() / 1000) - 10 * 60 });
    await face.idle();
    expect([bad.status, wrongSecret.status, stale.status]).toEqual([401, 401, 401]);
    expect(fake.callsOf('chat.postMessage')).toEqual([]);
    expect(await store.listRuns()).toEqual([]);
  });

  it('a signed /backup demo runs a real backup: one message, updated in place, ending with the numbers', async () => {
    const { status, response } = await slash('/backup', 'demo', ALLOWED);
    expect(status).toBe(200);
    expect(response).toEqual([]);
    const posts = fake.callsOf('chat.postMessage');
    expect(posts).toHaveLength(1);
    expect(posts[0]!.body.channel).toBe(CHANNEL);
    expect(text(posts[0])).toContain('/backup demo');
    const updates = fake.callsOf('chat.update');
    expect(updates.length).toBeGreaterThanOrEqual(1);
    for (const u of updates) expect(u.body).toMatchObject({ channel: CHANNEL, ts: expect.any(String) });
    const last = updates.at(-1)!;
    expect(last.body.text).toMatch(/^\/backup demo: backed up demo: snapshot [0-9a-f]{8}, 2 files/);
    expect(text(last)).toContain(`<@${ALLOWED}>`);
    expect(text(last)).toContain('snapshot');
    const runs = await store.listRuns({ runbook: 'demo' });
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'succeeded', actor: { face: 'slack', user: ALLOWED } });
  });

  it('an unknown runbook gets an ephemeral reply naming the runbooks there are; nothing runs', async () => {
    const before = fake.calls.length;
    const { response } = await slash('/backup', 'nope', ALLOWED);
    expect(response).toHaveLength(1);
    expect(response[0]!.body).toMatchObject({ response_type: 'ephemeral' });
    expect(text(response[0])).toContain('No runbook named \\"nope\\"');
    expect(text(response[0])).toContain('Runbooks here: broken, demo');
    // The server's runbooks folder is not named.
    expect(text(response[0])).not.toContain('runbooks');
    expect(text(response[0])).not.toContain(dir);
    expect(fake.calls.slice(before).filter((c) => c.method.startsWith('chat.'))).toEqual([]);
    expect(await store.listRuns()).toHaveLength(1);
  });

  it('a user outside access gets an ephemeral refusal naming who may; nothing runs', async () => {
    const { response } = await slash('/backup', 'demo', OUTSIDER);
    expect(response).toHaveLength(1);
    expect(response[0]!.body).toMatchObject({ response_type: 'ephemeral' });
    expect(text(response[0])).toContain(`you may not backup demo: access.backup allows ${ALLOWED}, @storage-oncall`);
    expect(await store.listRuns()).toHaveLength(1);
    const refusedDrill = await slash('/restore-drill', 'demo', ALLOWED);
    expect(text(refusedDrill.response[0])).toContain('access.drill allows @storage-oncall');
    expect(await store.listDrills()).toEqual([]);
  });

  it('usage errors say what is wrong and what would work; paths are not accepted as runbooks', async () => {
    const empty = await slash('/backup', '', ALLOWED);
    expect(text(empty.response[0])).toContain('missing <runbook>');
    expect(text(empty.response[0])).toContain('/backup list');
    const path = await slash('/backup', '../etc/x.yaml', ALLOWED);
    expect(text(path.response[0])).toContain('is not a runbook name');
    const option = await slash('/restore-drill', 'demo --keep', ALLOWED);
    expect(text(option.response[0])).toContain('not available from Slack');
    const help = await slash('/backup', 'help', OUTSIDER);
    expect(text(help.response[0])).toContain('/restore-drill <runbook> [snapshot]');
    expect(await store.listRuns()).toHaveLength(1);
  });

  it('/backup list and /backup status [runbook] show names, descriptions and health: no URL, path or host', async () => {
    const list = await slash('/backup', 'list', OUTSIDER);
    expect(text(list.response[0])).toMatch(/\*broken\*.*no backup.*\*demo\* — User uploads.*ok \(/s);
    const status = await slash('/backup', 'status demo', OUTSIDER);
    expect(text(status.response[0])).toMatch(/\*demo\* — User uploads/);
    expect(text(status.response[0])).toMatch(/last backup\*\\nsucceeded/);
    const all = await slash('/backup', 'status', OUTSIDER);
    expect(text(all.response[0])).toContain('broken');
    for (const answer of [list, status, all]) {
      const shown = text(answer.response[0]);
      expect(shown).not.toContain(dir);
      expect(shown).not.toContain('file:');
      expect(shown).not.toContain(hostname());
      expect(shown).not.toMatch(/\/(?:[\w.-]+\/)+/); // no path of any kind
    }
    const unknown = await slash('/backup', 'status nope', OUTSIDER);
    expect(text(unknown.response[0])).toContain('Runbooks here: broken, demo');
  });

  it('/restore-drill demo by a member of @storage-oncall posts the RTO and its phases', async () => {
    const postsBefore = fake.callsOf('chat.postMessage').length;
    const { response } = await slash('/restore-drill', 'demo', GROUPIE);
    expect(response).toEqual([]);
    expect(fake.callsOf('usergroups.list').length).toBeGreaterThanOrEqual(1);
    expect(fake.callsOf('usergroups.users.list')[0]!.body.usergroup).toBe('S0ONCALL');
    expect(fake.callsOf('chat.postMessage')).toHaveLength(postsBefore + 1);
    const last = fake.callsOf('chat.update').at(-1)!;
    expect(last.body.text).toMatch(/drill met: demo snapshot [0-9a-f]{8} restored and validated in/);
    expect(text(last)).toMatch(/RTO [0-9.]+m?s\* \(target 5m00s\)/);
    expect(text(last)).toContain('validate');
    const drills = await store.listDrills({ runbook: 'demo' });
    expect(drills).toHaveLength(1);
    expect(drills[0]).toMatchObject({ verdict: 'met', actor: { face: 'slack', user: GROUPIE } });
  });

  it('an alert posted by the Slack sink has an Acknowledge button; the signed button action runs ack (access checked) and acknowledges it', async () => {
    const alert: AlertRecord = {
      key: 'stale:demo',
      runbook: 'demo',
      rule: 'stale',
      severity: 'critical',
      message: 'last successful backup 27h ago, RPO 26h',
      firstSeen: new Date().toISOString(),
      lastSeen: new Date().toISOString(),
      count: 1,
      status: 'open',
    };
    await store.putAlert(alert);
    // Alerts reach Slack through the outbox and the sink, not the face: post it as the outbox would.
    const sink = slackSink({ name: 'slack', token: 'xoxb-test', channel: '#backups', apiUrl: fake.apiUrl });
    const where = (await sink.send({ transition: 'raised', alert, idempotencyKey: 'd1', at: alert.firstSeen }, new AbortController().signal))!;
    const post = fake.callsOf('chat.postMessage').at(-1)!;
    expect(text(post)).toContain(`"action_id":"${ACK_ACTION_ID}"`);
    expect(text(post)).toContain('"value":"stale:demo"');
    expect(where.channel).toBe('CBACKUPS');

    const press = async (user: string, id: string) => {
      const res = await postSigned(port, buttonBody({ actionId: ACK_ACTION_ID, value: 'stale:demo', user, channel: where.channel!, messageTs: where.ts!, responseUrl: fake.responseUrl(id) }), { secret: SECRET });
      await face.idle();
      return { status: res.status, response: fake.calls.filter((c) => c.responseId === id) };
    };
    const refused = await press(OUTSIDER, 'ack-refused');
    expect(refused.status).toBe(200);
    expect(text(refused.response[0])).toContain('you may not ack demo');
    expect((await store.getAlert('stale:demo'))!.ackedBy).toBeUndefined();

    const ok = await press(ALLOWED, 'ack-ok');
    expect(ok.status).toBe(200);
    expect(ok.response).toEqual([]);
    expect(await store.getAlert('stale:demo')).toMatchObject({ status: 'open', ackedBy: ALLOWED });
  });

  it('announceDrill posts to the runbook channel and the drill result goes into its thread', async () => {
    const runbook = await loadRunbook('demo', { runbooksDir: join(dir, 'runbooks'), home: join(dir, '.lifeboat'), cwd: dir });
    const thread = await face.announceDrill(runbook, new Date(Date.now() + 5 * 60_000));
    expect(thread.channel).toBe('CBACKUPS');
    expect(text(fake.callsOf('chat.postMessage').at(-1))).toContain('Restore drill for demo');
    const result = await invokeCommand(
      { command: restoreDrillCommand as never, argv: ['demo'], where: 'schedule' },
      {
        actor: { face: 'scheduler', user: 'scheduler' },
        env,
        cwd: dir,
        home: join(dir, '.lifeboat'),
        runbooksDir: join(dir, 'runbooks'),
        clock: systemClock,
        emit: ignoreEvents,
        signal: new AbortController().signal,
        store: async () => store,
      },
    );
    await face.postDrillResult(thread, result);
    const reply = fake.callsOf('chat.postMessage').at(-1)!;
    expect(reply.body).toMatchObject({ channel: 'CBACKUPS', thread_ts: thread.ts });
    expect(String(reply.body.text)).toMatch(/^drill met: demo RTO /);
  });

  it('a failed backup names the stage and the error, and raises its alert (which the outbox, not the face, delivers)', async () => {
    const before = fake.calls.length;
    await slash('/backup', 'broken', ALLOWED);
    const calls = fake.calls.slice(before);
    const final = calls.filter((c) => c.method === 'chat.update').at(-1)!;
    expect(String(final.body.text)).toMatch(/^\/backup broken: every source failed: source db/);
    expect(text(final)).toContain('Failed in stage *discover*: `SOURCE_FAILED` every source failed: source db');
    expect(await store.getAlert('failed-run:broken')).toMatchObject({ status: 'open', severity: 'critical' });
    // The run had serve's lifeboat.yaml: its alert is routed by the default route there.
    const owed = (await store.listDeliveries({ runbook: 'broken' })).filter((d) => d.alertKey === 'failed-run:broken');
    expect(owed.map((d) => [d.sink, d.transition])).toEqual([['team-hook', 'raised']]);
  });

  it('the audit log holds every Slack request, allowed and refused', async () => {
    const audit = (await store.listAudit()).filter((a) => a.actor.face === 'slack').reverse();
    const rows = audit.map((a) => `${a.actor.user} ${a.command} ${a.args.join(' ')} -> ${a.result} @${a.where}`);
    expect(rows).toEqual([
      `${ALLOWED} backup demo -> ok @${CHANNEL}`,
      `${ALLOWED} backup nope -> usage @${CHANNEL}`,
      `${OUTSIDER} backup demo -> refused @${CHANNEL}`,
      `${ALLOWED} restore-drill demo -> refused @${CHANNEL}`,
      `${ALLOWED} backup  -> usage @${CHANNEL}`,
      `${ALLOWED} backup ../etc/x.yaml -> usage @${CHANNEL}`,
      `${ALLOWED} restore-drill demo --keep -> usage @${CHANNEL}`,
      `${GROUPIE} restore-drill demo -> ok @${CHANNEL}`,
      `${OUTSIDER} ack stale:demo -> refused @CBACKUPS`,
      `${ALLOWED} ack stale:demo -> ok @CBACKUPS`,
      `${ALLOWED} backup broken -> failed @${CHANNEL}`,
    ]);
    expect(audit.every((a) => !Number.isNaN(Date.parse(a.at)))).toBe(true);
    expect(audit.find((a) => a.result === 'refused')!.detail).toContain('access.backup allows');
  });
});

describe('Acknowledge requests that must not pass, signed, through the real receiver', () => {
  it('an empty key, ":", a colon-less key, another runbook’s key, a user on no list: refused in private, audited, nothing changed', async () => {
    // A runbook whose access.backup lists neither ALLOWED nor OUTSIDER.
    await writeFile(
      join(dir, 'runbooks', 'other.yaml'),
      stringify({
        name: 'other',
        sources: [{ name: 'data', path: join(dir, 'data') }],
        repository: { hot: { url: `file://${join(dir, 'repo-other')}` }, password: { env: 'LIFEBOAT_PASSWORD' } },
        objectives: { rpo: '26h', rto: '5m' },
        access: { backup: ['U0OTHERTEAM'] },
      }),
    );
    const now = new Date().toISOString();
    for (const [key, runbook] of [['verify-failed:demo', 'demo'], ['stale:other', 'other']] as const) {
      await store.putAlert({ key, runbook, rule: key.split(':')[0]!, severity: 'critical', message: 'open for this test', firstSeen: now, lastSeen: now, count: 1, status: 'open' });
    }
    const alertsBefore = await store.listAlerts();
    const auditBefore = (await store.listAudit()).length;
    const chatBefore = fake.calls.filter((c) => c.method.startsWith('chat.')).length;

    const cases = [
      { user: ALLOWED, key: '', says: 'refused: \\"\\" is not an alert key', result: 'usage' },
      { user: ALLOWED, key: ':', says: 'refused: \\":\\" is not an alert key', result: 'usage' },
      { user: ALLOWED, key: 'verify-failed', says: 'refused: \\"verify-failed\\" is not an alert key', result: 'usage' },
      { user: ALLOWED, key: 'stale:other', says: 'you may not ack other: access.backup allows <@U0OTHERTEAM>', result: 'refused' },
      { user: OUTSIDER, key: 'verify-failed:demo', says: `you may not ack demo: access.backup allows <@${ALLOWED}>`, result: 'refused' },
      { user: OUTSIDER, key: '', says: 'you may not ack without naming a runbook: you are on no runbook\'s access.backup', result: 'refused' },
      { user: OUTSIDER, key: ':', says: 'you may not ack without naming a runbook', result: 'refused' },
    ];
    for (const [i, c] of cases.entries()) {
      const id = `bad-ack-${i}`;
      const res = await postSigned(port, buttonBody({ actionId: ACK_ACTION_ID, value: c.key, user: c.user, channel: CHANNEL, messageTs: '1.000100', responseUrl: fake.responseUrl(id) }), { secret: SECRET });
      await face.idle();
      expect(res.status, c.key).toBe(200);
      const replies = fake.calls.filter((call) => call.responseId === id);
      expect(replies, `${c.user} ${JSON.stringify(c.key)}`).toHaveLength(1);
      expect(replies[0]!.body).toMatchObject({ response_type: 'ephemeral' });
      expect(text(replies[0]), `${c.user} ${JSON.stringify(c.key)}`).toContain(c.says);
    }

    // Audited, one row each, with who and what.
    const audit = (await store.listAudit()).slice(0, (await store.listAudit()).length - auditBefore).reverse();
    expect(audit.map((a) => `${a.actor.user} ${a.command} ${JSON.stringify(a.args)} -> ${a.result}`)).toEqual(
      cases.map((c) => `${c.user} ack ${JSON.stringify([c.key])} -> ${c.result}`),
    );
    // Nothing changed: the alerts are as they were, and no message was posted or updated.
    expect(await store.listAlerts()).toEqual(alertsBefore);
    expect(fake.calls.filter((c) => c.method.startsWith('chat.'))).toHaveLength(chatBefore);
  });
});
