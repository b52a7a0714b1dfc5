/**
 * `/backup status` with a fleet (issue 19): runbooks of more than one host
 * are grouped under a heading per host (by name, `any host` last) and the
 * count of hosts is said; runbooks of one host (or none named) look as before.
 * The message is checked against a golden file, and the handler is shown to
 * take each runbook's host from its file.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/core/clock.js';
import { MemoryStore } from '../../src/core/store/memory-store.js';
import { runbookStatusMessage, type RunbookHealth } from '../../src/slack/blocks/runbooks.js';
import { slackHandlers } from '../../src/slack/handlers.js';
import { useTempDirs } from '../helpers/temp-dirs.js';
import { checkGoldenJson } from './golden.js';

const health = (name: string, host?: string): RunbookHealth => ({
  name,
  state: 'ok',
  facts: [{ label: 'age / RPO', value: 'ok (2h / 26h)' }],
  ...(host === undefined ? {} : { host }),
});

describe('/backup status grouped by host', () => {
  it('groups runbooks of several hosts under a heading each, any host last', () => {
    const message = runbookStatusMessage('/backup status', [health('orders-db', 'web-01'), health('scratch'), health('media', 'db-01'), health('app-data', 'web-01')]);
    expect(message.blocks.map((b) => JSON.stringify(b).match(/\*([^*]+)\*/)?.[1])).toEqual([
      '/backup status',
      'db-01',
      'media',
      'web-01',
      'orders-db',
      'app-data',
      'any host',
      'scratch',
    ]);
    expect(JSON.stringify(message.blocks[0])).toContain('4 runbooks on 3 hosts');
    checkGoldenJson('runbook-status-by-host', message);
  });

  it('is not grouped when every runbook shown has the same host', () => {
    const message = runbookStatusMessage('/backup status', [health('app-data', 'web-01'), health('orders-db', 'web-01')]);
    expect(message.blocks).toHaveLength(3);
    expect(JSON.stringify(message)).not.toContain('web-01');
    expect(JSON.stringify(message.blocks[0])).toContain('— 2 runbooks');
  });

  it('stays within Slack’s block limit with many hosts, saying how many more there are', () => {
    const many = Array.from({ length: 60 }, (_, i) => health(`rb-${String(i).padStart(2, '0')}`, `host-${String(Math.floor(i / 2)).padStart(2, '0')}`));
    const message = runbookStatusMessage('/backup status', many);
    expect(message.blocks.length).toBeLessThanOrEqual(50);
    const shown = message.blocks.filter((b) => JSON.stringify(b).includes('*rb-')).length;
    expect(JSON.stringify(message.blocks.at(-1))).toContain(`… and ${60 - shown} more`);
  });
});

describe('/backup status through the handlers', () => {
  const tempDir = useTempDirs('slack-hosts');
  const runbook = (name: string, host?: string) =>
    [
      `name: ${name}`,
      ...(host === undefined ? [] : [`host: ${host}`]),
      'sources: [{ name: data, path: /srv/data }]',
      `repository: { hot: { url: "file:///var/backups/${name}" }, password: { env: LIFEBOAT_PASSWORD } }`,
      'objectives: { rpo: 26h, rto: 5m }',
      '',
    ].join('\n');

  it('takes each runbook’s host from its file and groups the answer by host', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'runbooks'));
    await writeFile(join(dir, 'runbooks', 'app-data.yaml'), runbook('app-data', 'web-01'));
    await writeFile(join(dir, 'runbooks', 'media.yaml'), runbook('media', 'db-01'));
    await writeFile(join(dir, 'runbooks', 'scratch.yaml'), runbook('scratch'));
    const answers: string[] = [];
    const unused = async () => {
      throw new Error('not used: the answer goes to response_url');
    };
    const handlers = slackHandlers({
      api: { postMessage: unused, update: unused, postEphemeral: unused, listUsergroups: async () => [], usergroupMembers: async () => [] },
      logger: { warn: () => undefined, error: () => undefined },
      resolveGroup: async () => [],
      clock: new FakeClock('2026-03-10T12:00:00Z'),
      locations: { home: join(dir, '.lifeboat'), runbooksDir: join(dir, 'runbooks'), cwd: dir },
      env: {},
      store: async () => new MemoryStore(),
      signal: new AbortController().signal,
      secrets: () => undefined,
      learnSecrets: async () => undefined,
      track: (work) => work,
    });
    await handlers.slash('/backup', 'status', { user: 'U0ANYONE1', channel: 'C0BACKUPS', respond: async (a) => answers.push(JSON.stringify(a.blocks)) });
    expect(answers).toHaveLength(1);
    const order = [...answers[0]!.matchAll(/\*([a-z0-9.-]+(?: host)?)\*/g)].map((m) => m[1]);
    expect(order).toEqual(['db-01', 'media', 'web-01', 'app-data', 'any host', 'scratch']);
    expect(answers[0]).toContain('3 runbooks on 3 hosts');
  });
});
