/** The child environment policy, as a function: the allowlist, what a runbook opts in, what is refused, the facts. */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { childEnvironment, passesToChildren, withFacts } from '../../../src/core/child/child-env.js';
import { isLifeboatError } from '../../../src/core/errors.js';
import { Redactor } from '../../../src/core/redaction/index.js';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-child-env-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const parent = {
  PATH: '/usr/bin',
  HOME: '/home/op',
  LANG: 'C.UTF-8',
  LC_ALL: 'C',
  TZ: 'UTC',
  USER: 'op',
  SHELL: '/bin/sh',
  TERM: 'xterm',
  TMPDIR: '/tmp',
  LIFEBOAT_RUN_TAG: 'nightly',
  LIFEBOAT_PASSWORD: 'repo password',
  LIFEBOAT_HOME: '/var/lib/lifeboat',
  OTHER_PASSWORD: 'other runbook password',
  SLACK_BOT_TOKEN: 'xoxb-bot',
  SLACK_SIGNING_SECRET: 'signing',
  AWS_ACCESS_KEY_ID: 'AKIA1',
  AWS_SECRET_ACCESS_KEY: 'aws secret',
  DB_PASSWORD: 'db password',
  UNSET: undefined,
};

describe('childEnvironment', () => {
  it('passes only the allowlist from Lifeboat’s environment', async () => {
    const env = await childEnvironment({ parent, where: 'hooks.env' });
    expect(Object.keys(env).sort()).toEqual(['HOME', 'LANG', 'LC_ALL', 'LIFEBOAT_RUN_TAG', 'PATH', 'SHELL', 'TERM', 'TMPDIR', 'TZ', 'USER']);
    for (const name of ['PATH', 'LC_CTYPE', 'LIFEBOAT_RUN_ID']) expect(passesToChildren(name), name).toBe(true);
    for (const name of ['LIFEBOAT_PASSWORD', 'LIFEBOAT_HOME', 'SLACK_BOT_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'PWD', 'LD_PRELOAD']) expect(passesToChildren(name), name).toBe(false);
  });

  it('adds what the runbook opts in, by variable or by file; an AWS credential only when named', async () => {
    const file = join(dir, 'token');
    writeFileSync(file, 'file token\n');
    chmodSync(file, 0o600);
    const secrets = new Redactor();
    const env = await childEnvironment({
      parent,
      optIn: { PGPASSWORD: { kind: 'env', name: 'DB_PASSWORD' }, AWS_SECRET_ACCESS_KEY: { kind: 'env', name: 'AWS_SECRET_ACCESS_KEY' }, TOKEN: { kind: 'file', path: file, create: false } },
      secrets,
      where: 'sources[db].env',
    });
    expect(env).toMatchObject({ PGPASSWORD: 'db password', AWS_SECRET_ACCESS_KEY: 'aws secret', TOKEN: 'file token' });
    expect(env.AWS_ACCESS_KEY_ID).toBeUndefined();
    // What is passed is learned, so output that echoes it is redacted.
    expect(secrets.redact('db password / file token')).toBe('[redacted PGPASSWORD] / [redacted TOKEN]');
  });

  it('refuses an opt-in that is a repository password (of any runbook) or a Slack credential, naming the field', async () => {
    const secrets = new Redactor();
    secrets.add('OTHER_PASSWORD', 'other runbook password', 'repository-password');
    secrets.add('SLACK_SIGNING_SECRET', 'signing', 'slack');
    secrets.add('SLACK_BOT_TOKEN', 'xoxb-bot', 'slack');
    const refused = async (name: string) => childEnvironment({ parent, optIn: { X: { kind: 'env', name } }, secrets, where: 'hooks.env' }).catch((e: unknown) => e);
    const e = await refused('OTHER_PASSWORD');
    expect(isLifeboatError(e, 'SECRET_REFUSED')).toBe(true);
    expect((e as Error).message).toBe('hooks.env.X refers to a repository password (OTHER_PASSWORD), which no child process is given (expected another variable or file)');
    expect((await refused('SLACK_BOT_TOKEN') as Error).message).toContain("Lifeboat's Slack credential SLACK_BOT_TOKEN");
    expect(((await refused('UNSET')) as Error).message).toBe('Environment variable UNSET is not set (the runbook reads the value of hooks.env.X from it)');
  });

  it('adds Lifeboat’s facts last, redacted; only LIFEBOAT_ names', async () => {
    const secrets = new Redactor();
    secrets.add('LIFEBOAT_PASSWORD', 'repo password', 'repository-password');
    const base = await childEnvironment({ parent, where: 'hooks.env' });
    const env = withFacts(base, { LIFEBOAT_RUN_ERROR: 'hook printed repo password', LIFEBOAT_RUN_TAG: 'mine' }, secrets);
    expect(env.LIFEBOAT_RUN_ERROR).toBe('hook printed [redacted LIFEBOAT_PASSWORD]');
    expect(env.LIFEBOAT_RUN_TAG).toBe('mine');
    expect(() => withFacts(base, { PATH: '/evil' })).toThrow(/LIFEBOAT_/);
  });
});
