/**
 * `/restore-drill <runbook> [snapshot] <path>` (issue 20, item 4): how the
 * text is read (a path after the runbook, an optional snapshot between,
 * quotes for spaces, Slack's HTML entities), the result's blocks (golden), and
 * end to end through Bolt's real HTTPReceiver with signed requests against the
 * fake Slack Web API: the drill runs on that path and the posted message names
 * the path, its size and RTO, never what the file holds; a bad path gets an
 * ephemeral answer and runs nothing; a path not in the snapshot is a failed
 * verdict posted in the channel.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LogLevel } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { initRunbookRepository } from '../../src/core/repo/open-repository.js';
import { loadRunbook } from '../../src/core/runbook/index.js';
import { openJsonStore, type Store } from '../../src/core/store/index.js';
import type { DrillRecord } from '../../src/core/store/records.js';
import { createSlackApp, type SlackFace } from '../../src/slack/app.js';
import { drillResultMessage } from '../../src/slack/blocks/index.js';
import { routeSlash } from '../../src/slack/slash.js';
import { TEST_KEYS_ENV } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/temp-dirs.js';
import { postSigned, slashBody, startFakeSlack, type FakeSlack, type RecordedCall } from './fake-slack.js';
import { checkGoldenJson } from './golden.js';

describe('/restore-drill text', () => {
  const route = (text: string) => {
    const r = routeSlash('/restore-drill', text);
    return r.kind === 'invoke' ? r.argv : r.kind === 'usage' ? `usage: ${r.message}` : r.kind;
  };

  it('a path after the runbook, a snapshot id or `latest` between when given', () => {
    expect(route('app-data data/etc/app.yaml')).toEqual(['app-data', '--path=data/etc/app.yaml']);
    expect(route('app-data 16b785d5 data/etc/app.yaml')).toEqual(['app-data', '16b785d5', '--path=data/etc/app.yaml']);
    // A lone second word that looks like a snapshot id is one; a path that looks like one comes after a snapshot.
    expect(route('app-data cafe')).toEqual(['app-data', 'cafe']);
    expect(route('app-data latest cafe')).toEqual(['app-data', 'latest', '--path=cafe']);
    expect(route('app-data uploads')).toEqual(['app-data', '--path=uploads']);
    expect(route('app-data /data/etc/./app.yaml')).toEqual(['app-data', '--path=data/etc/app.yaml']);
  });

  it('quotes (straight or curly) hold a path with spaces; a quoted word is never an option or a snapshot id', () => {
    expect(route('app-data "data/My Files/q3 report.pdf"')).toEqual(['app-data', '--path=data/My Files/q3 report.pdf']);
    expect(route('app-data latest “data/My Files/a.txt”')).toEqual(['app-data', 'latest', '--path=data/My Files/a.txt']);
    expect(route("app-data 'data/it is.txt'")).toEqual(['app-data', '--path=data/it is.txt']);
    expect(route('app-data "-odd name"')).toEqual(['app-data', '--path=-odd name']);
    expect(route('app-data "cafe"')).toEqual(['app-data', '--path=cafe']);
    // Slack sends &, < and > as HTML entities.
    expect(route('app-data data/a&amp;b&lt;1&gt;.txt')).toEqual(['app-data', '--path=data/a&b<1>.txt']);
  });

  it('refuses what is not a drill of a path inside the snapshot, before anything runs', () => {
    expect(route('app-data data/My Files/a.txt')).toBe('usage: "data/My" is not a snapshot id (hex prefix, or latest); a path with spaces goes in quotes: "data/My Files/a.txt"');
    expect(route('app-data latest data/My Files/a.txt')).toMatch(/^usage: too many words after `\/restore-drill app-data`: it takes \[snapshot\] \[path\]; a path with spaces goes in quotes/);
    expect(route('app-data "data/My Files')).toMatch(/^usage: a quote opened at .* is not closed/);
    expect(route('app-data "nothex" data/x')).toBe('usage: "nothex" is not a snapshot id (hex prefix, or latest)');
    expect(route('app-data ../../etc/shadow')).toBe('usage: path "../../etc/shadow": ".." is not allowed; name a path inside the snapshot, e.g. data/etc/app.yaml');
    expect(route('app-data "/"')).toMatch(/^usage: path "\/" names nothing inside the snapshot/);
    expect(route('app-data --path=data/x')).toBe('usage: options such as "--path=data/x" are not available from Slack');
    expect(route('app-data data/x --keep')).toBe('usage: options such as "--keep" are not available from Slack');
    expect(route('../runbooks/x data/x')).toBe('usage: "../runbooks/x" is not a runbook name (names only, no paths)');
    expect(route('help')).toBe('help');
  });
});

describe('a path drill as Block Kit', () => {
  const drill: DrillRecord = {
    id: 'd-path',
    runbook: 'app-data',
    snapshotId: '16b785d5aa00bb11',
    tier: 'hot',
    startedAt: '2026-03-10T11:59:00.000Z',
    endedAt: '2026-03-10T11:59:01.000Z',
    verdict: 'met',
    rtoMs: 840,
    targetMs: 900_000,
    path: 'data/etc/app.yaml',
    phases: [
      { name: 'plan', durationMs: 120 },
      { name: 'fetch', durationMs: 300, bytes: 4096, throughput: 13_653 },
      { name: 'write', durationMs: 20, bytes: 2150, throughput: 107_500 },
      { name: 'validate', durationMs: 400, bytes: 2150, throughput: 5375 },
      { name: 'cleanup', durationMs: 3 },
    ],
    actor: { face: 'slack', user: 'U0ALICE' },
  };

  it('names the path and its size, says the RTO is the path’s', () => {
    checkGoldenJson('drill-path-met', drillResultMessage(drill));
    checkGoldenJson(
      'drill-path-failed',
      drillResultMessage({ ...drill, path: 'data/etc/gone.yaml', verdict: 'failed', rtoMs: undefined, phases: drill.phases.slice(0, 1), reason: 'path data/etc/gone.yaml is not in snapshot 16b785d5' }),
    );
  });
});

const SECRET = 'test-signing-secret';
const CHANNEL = 'C0BACKUPS';
const ONCALL = 'U0ONCALL';
const OUTSIDER = 'U0OUTSIDER';
/** What data/etc/app.yaml holds: it must never reach the channel. */
const CONTENT = 'db_password_hint: the-orange-one';

describe('/restore-drill <runbook> <path> through the real HTTPReceiver', () => {
  const tempDir = useTempDirs('slack-path-drill');
  let fake: FakeSlack;
  let face: SlackFace;
  let store: Store;
  let port: number;
  let requests = 0;
  const text = (c: RecordedCall | undefined) => JSON.stringify(c?.body ?? {});

  async function slash(command: string, commandText: string, user: string): Promise<RecordedCall[]> {
    const id = `p${++requests}`;
    const res = await postSigned(port, slashBody({ command, text: commandText, user, channel: CHANNEL, responseUrl: fake.responseUrl(id) }), { secret: SECRET });
    expect(res.status).toBe(200);
    await face.idle();
    return fake.calls.filter((c) => c.method === 'response_url' && c.responseId === id);
  }

  beforeAll(async () => {
    fake = await startFakeSlack();
    const dir = await tempDir();
    await mkdir(join(dir, 'data', 'etc'), { recursive: true });
    await writeFile(join(dir, 'data', 'etc', 'app.yaml'), `${CONTENT}\n`);
    await writeFile(join(dir, 'data', 'big.bin'), Buffer.alloc(200_000, 3));
    await mkdir(join(dir, 'runbooks'));
    await writeFile(
      join(dir, 'runbooks', 'demo.yaml'),
      stringify({
        name: 'demo',
        sources: [{ name: 'data', path: join(dir, 'data') }],
        repository: { hot: { url: `file://${join(dir, 'repo')}` }, password: { env: 'LIFEBOAT_PASSWORD' } },
        objectives: { rpo: '26h', rto: '5m' },
        drill: { check: 'test -s data/big.bin' },
        alerts: { slack: '#backups' },
        access: { backup: [ONCALL], drill: [ONCALL] },
      }),
    );
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LIFEBOAT_PASSWORD: 'slack path drills', ...TEST_KEYS_ENV };
    const home = join(dir, '.lifeboat');
    await initRunbookRepository(await loadRunbook('demo', { runbooksDir: join(dir, 'runbooks'), home, cwd: dir }), { env, home });
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
      updateIntervalMs: 50,
      retries: 0,
      logLevel: LogLevel.ERROR,
    });
    port = (await face.start()).port!;
    expect(await slash('/backup', 'demo', ONCALL)).toEqual([]);
    expect((await store.listRuns({ runbook: 'demo' }))[0]?.status).toBe('succeeded');
  });

  afterAll(async () => {
    await face?.stop();
    await store?.close();
    await fake?.close();
  });

  it('drills that path and posts which path, its size and RTO in the channel, never the file', async () => {
    const posts = fake.callsOf('chat.postMessage').length;
    expect(await slash('/restore-drill', 'demo data/etc/app.yaml', ONCALL)).toEqual([]);
    expect(fake.callsOf('chat.postMessage')).toHaveLength(posts + 1);
    const final = fake.callsOf('chat.update').at(-1)!;
    expect(String(final.body.text)).toMatch(/^\/restore-drill demo data\/etc\/app\.yaml: drill met: demo path data\/etc\/app\.yaml \(1 file, 33 B\) snapshot [0-9a-f]{8} restored and validated in \S+ \(target 5m00s\)$/);
    expect(text(final)).toContain('*Path*\\n`data/etc/app.yaml` (33 B)');
    expect(text(final)).toMatch(/RTO [0-9.]+m?s\* for one path \(target 5m00s\)/);
    for (const call of fake.calls) expect(text(call)).not.toContain('the-orange-one');
    const [drill] = await store.listDrills({ runbook: 'demo' });
    expect(drill).toMatchObject({ verdict: 'met', path: 'data/etc/app.yaml', actor: { face: 'slack', user: ONCALL } });
  });

  it('a path not in the snapshot: a failed verdict in the channel naming the path and the snapshot', async () => {
    expect(await slash('/restore-drill', 'demo latest data/etc/gone.yaml', ONCALL)).toEqual([]);
    const final = fake.callsOf('chat.update').at(-1)!;
    expect(text(final)).toContain(':x: drill failed');
    expect(text(final)).toMatch(/path data\/etc\/gone\.yaml is not in snapshot [0-9a-f]{8}/);
    expect((await store.listDrills({ runbook: 'demo' }))[0]).toMatchObject({ verdict: 'failed', path: 'data/etc/gone.yaml' });
  });

  it('a bad path or an outsider gets an ephemeral answer; nothing runs', async () => {
    const before = (await store.listDrills()).length;
    const posts = fake.callsOf('chat.postMessage').length;
    const up = await slash('/restore-drill', 'demo ../../etc/shadow', ONCALL);
    expect(up).toHaveLength(1);
    expect(up[0]!.body).toMatchObject({ response_type: 'ephemeral' });
    expect(text(up[0])).toContain('\\"..\\" is not allowed');
    const spaces = await slash('/restore-drill', 'demo data/My Files/a.txt', ONCALL);
    expect(text(spaces[0])).toContain('a path with spaces goes in quotes');
    const outsider = await slash('/restore-drill', 'demo data/etc/app.yaml', OUTSIDER);
    expect(outsider[0]!.body).toMatchObject({ response_type: 'ephemeral' });
    expect(text(outsider[0])).toContain('access.drill allows');
    expect(await store.listDrills()).toHaveLength(before);
    expect(fake.callsOf('chat.postMessage')).toHaveLength(posts);
    const audit = (await store.listAudit()).filter((a) => a.command === 'restore-drill').map((a) => `${a.actor.user} ${a.args.join(' ')} -> ${a.result}`);
    expect(audit).toContain(`${ONCALL} demo ../../etc/shadow -> usage`);
    expect(audit).toContain(`${OUTSIDER} demo --path=data/etc/app.yaml -> refused`);
  });
});
