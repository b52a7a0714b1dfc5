/** The Slack face's parts without Slack: routing, the rate-limited live message, the group cache, configuration. */
import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/slack/blocks/types.js';
import { slackConfigFromEnv } from '../../src/slack/config.js';
import { cachedGroupResolver } from '../../src/slack/groups.js';
import { LiveMessage } from '../../src/slack/live-message.js';
import { routeSlash } from '../../src/slack/slash.js';
import { publicMessage, withoutLocalPaths } from '../../src/slack/outbound.js';
import { Redactor } from '../../src/core/redaction/index.js';

const msg = (text: string): Message => ({ text, blocks: [] });

describe('routeSlash', () => {
  const route = (name: string, text: string) => {
    const r = routeSlash(name, text);
    return r.kind === 'invoke'
      ? `${r.command.name} [${r.argv.join(' ')}]${r.live ? ' live' : ''}${r.onlyRunbook ? ` only ${r.onlyRunbook}` : ''}${r.view ? ` as ${r.view}` : ''}`
      : r.kind === 'usage'
        ? `usage: ${r.message}`
        : r.kind;
  };
  it('maps every form to a shared command', () => {
    expect(route('/backup', 'demo')).toBe('backup [demo] live');
    expect(route('/backup', '  demo  ')).toBe('backup [demo] live');
    expect(route('/backup', '')).toBe('backup [] live');
    // Both from the status command: names, descriptions and health, never the runbook list's URLs and folder.
    expect(route('/backup', 'list')).toBe('status [] as list');
    expect(route('/backup', 'status')).toBe('status [] as status');
    expect(route('/backup', 'status demo')).toBe('status [] only demo as status');
    expect(route('/backup', 'help')).toBe('help');
    expect(route('/restore-drill', 'demo')).toBe('restore-drill [demo] live');
    expect(route('/restore-drill', 'demo 16b785d5')).toBe('restore-drill [demo 16b785d5] live');
    expect(route('/restore-drill', '')).toBe('restore-drill []');
    expect(route('/restore-drill', 'help')).toBe('help');
  });
  it('rejects paths, options and stray words before anything loads', () => {
    expect(route('/backup', '/etc/passwd')).toBe('usage: "/etc/passwd" is not a runbook name (names only, no paths)');
    expect(route('/backup', 'list extra')).toBe('usage: `/backup list` takes no arguments');
    expect(route('/backup', 'status a b')).toBe('usage: unexpected argument "b" after `/backup status a`');
    expect(route('/restore-drill', 'demo --keep')).toBe('usage: options such as "--keep" are not available from Slack');
    // A second word that is no snapshot id is a path to drill: one leaving the snapshot is refused before anything runs.
    expect(route('/restore-drill', 'demo ../x')).toBe('usage: path "../x": ".." is not allowed; name a path inside the snapshot, e.g. data/etc/app.yaml');
  });
});

describe('LiveMessage', () => {
  it('posts once, coalesces updates to one per interval, and always sends the final state', async () => {
    const calls: { kind: string; text: string; at: number }[] = [];
    const api = {
      postMessage: async (_c: string, m: Message) => (calls.push({ kind: 'post', text: m.text, at: Date.now() }), { channel: 'C1', ts: '1.1' }),
      update: async (_c: string, _ts: string, m: Message) => void calls.push({ kind: 'update', text: m.text, at: Date.now() }),
    };
    const live = new LiveMessage({ api, channel: '#x', minIntervalMs: 80 });
    for (let i = 0; i < 20; i++) {
      live.show(msg(`tick ${i}`));
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await live.finish(msg('done'))).toBe(true);
    expect(calls[0]).toMatchObject({ kind: 'post', text: 'tick 0' });
    expect(calls.at(-1)).toMatchObject({ kind: 'update', text: 'done' });
    expect(calls.length).toBeLessThanOrEqual(5);
    for (let i = 1; i < calls.length; i++) expect(calls[i]!.at - calls[i - 1]!.at).toBeGreaterThanOrEqual(75);
  });
  it('a Slack failure is reported as undelivered, never thrown', async () => {
    const warnings: unknown[] = [];
    const api = { postMessage: async () => Promise.reject(new Error('not_in_channel')), update: async () => undefined };
    const live = new LiveMessage({ api, channel: '#x', minIntervalMs: 0, logger: { warn: (m) => warnings.push(m), error: () => undefined } });
    expect(await live.finish(msg('done'))).toBe(false);
    expect(String(warnings[0])).toContain('not_in_channel');
  });
});

describe('cachedGroupResolver', () => {
  it('resolves @handles through the Web API and caches for the TTL', async () => {
    let now = 0;
    const calls: string[] = [];
    const members: Record<string, string[]> = { S1: ['U1'] };
    const resolve = cachedGroupResolver(
      {
        listUsergroups: async () => (calls.push('list'), [{ id: 'S1', handle: 'storage-oncall' }]),
        usergroupMembers: async (id) => (calls.push(`users ${id}`), members[id] ?? []),
      },
      { ttlMs: 1000, nowMs: () => now },
    );
    expect(await resolve('@storage-oncall')).toEqual(['U1']);
    expect(await resolve('@Storage-Oncall')).toEqual(['U1']);
    expect(await resolve('@nobody')).toEqual([]);
    expect(calls).toEqual(['list', 'users S1']);
    members.S1 = ['U1', 'U2'];
    now = 1500;
    expect(await resolve('@storage-oncall')).toEqual(['U1', 'U2']);
    expect(calls).toEqual(['list', 'users S1', 'list', 'users S1']);
  });
  it('does not cache a failed lookup', async () => {
    let fail = true;
    const resolve = cachedGroupResolver({
      listUsergroups: async () => {
        if (fail) throw new Error('ratelimited');
        return [{ id: 'S1', handle: 'g' }];
      },
      usergroupMembers: async () => ['U1'],
    });
    await expect(resolve('@g')).rejects.toThrow('ratelimited');
    fail = false;
    expect(await resolve('@g')).toEqual(['U1']);
  });
});

describe('slackConfigFromEnv', () => {
  it('takes SLACK_API_URL for GovSlack or a stand-in, and refuses one that is not an http(s) URL', () => {
    expect(slackConfigFromEnv({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1', SLACK_API_URL: 'https://slack-gov.com/api' }).slackApiUrl).toBe('https://slack-gov.com/api/');
    expect(() => slackConfigFromEnv({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1', SLACK_API_URL: 'slack-gov.com' })).toThrow(/SLACK_API_URL must be an http\(s\) URL/);
  });

  it('Socket Mode with both tokens; HTTP on 127.0.0.1 with a signing secret and a port', () => {
    expect(slackConfigFromEnv({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' }).connection).toEqual({ mode: 'socket', appToken: 'xapp-1' });
    expect(slackConfigFromEnv({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' }, '3000').connection).toEqual({ mode: 'http', signingSecret: 's', port: 3000, host: '127.0.0.1' });
    expect(slackConfigFromEnv({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's', LIFEBOAT_SLACK_PORT: '0' }).connection).toMatchObject({ mode: 'http', port: 0 });
  });
  it('says everything that is missing at once', () => {
    expect(() => slackConfigFromEnv({})).toThrow(
      'Slack is not configured: SLACK_BOT_TOKEN is not set (the xoxb- token from "OAuth & Permissions"); set SLACK_APP_TOKEN for Socket Mode, or SLACK_SIGNING_SECRET and a port for HTTP mode',
    );
    expect(() => slackConfigFromEnv({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' })).toThrow('HTTP mode needs a port: --port or LIFEBOAT_SLACK_PORT');
    expect(() => slackConfigFromEnv({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' }, 'http')).toThrow('port must be a number 0-65535, got "http"');
  });
});

describe('slack/manifest.yaml', () => {
  it('declares both slash commands, the scopes the face uses, interactivity and Socket Mode', async () => {
    const { readFile } = await import('node:fs/promises');
    const { parse } = await import('yaml');
    const manifest = parse(await readFile(new URL('../../slack/manifest.yaml', import.meta.url), 'utf8')) as {
      features: { slash_commands: { command: string }[] };
      oauth_config: { scopes: { bot: string[] } };
      settings: { interactivity: { is_enabled: boolean }; socket_mode_enabled: boolean };
    };
    expect(manifest.features.slash_commands.map((c) => c.command)).toEqual(['/backup', '/restore-drill']);
    expect(manifest.oauth_config.scopes.bot).toEqual(expect.arrayContaining(['commands', 'chat:write', 'usergroups:read']));
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.settings.socket_mode_enabled).toBe(true);
  });
});

describe('what leaves for Slack', () => {
  it('cuts local paths to their last name, and leaves everything else alone', () => {
    expect(withoutLocalPaths('Cannot read key file /etc/lifeboat/keys/app.key: EACCES')).toBe('Cannot read key file …/app.key: EACCES');
    expect(withoutLocalPaths('could not lock file:///var/backups/app-data (busy)')).toBe('could not lock file://…/app-data (busy)');
    expect(withoutLocalPaths('No runbook named "x" in /srv/lifeboat/runbooks.')).toBe('No runbook named "x" in …/runbooks.');
    const kept = '`/backup list` — 2/5 files, 50MiB/s, s3://bucket/prefix, https://example.com/a/b, data/sub/notes.txt, <@U0123ABC>';
    expect(withoutLocalPaths(kept)).toBe(kept);
    expect(withoutLocalPaths(withoutLocalPaths('/a/b/c'))).toBe('…/c');
  });

  it('a message is made public in every string: text and blocks, secrets redacted', () => {
    const secrets = new Redactor();
    secrets.add('SLACK_BOT_TOKEN', 'xoxb-123456', 'slack');
    const message: Message = { text: 'failed: /srv/app/hook.sh printed xoxb-123456', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'see /srv/app/hook.sh' } }] };
    expect(publicMessage(message, secrets)).toEqual({
      text: 'failed: …/hook.sh printed [redacted SLACK_BOT_TOKEN]',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'see …/hook.sh' } }],
    });
  });
});
