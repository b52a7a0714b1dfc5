/** The redactor: known values, the secret shapes it recognises without knowing them, and the wrappers around the store and the event stream. */
import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../../src/core/events.js';
import { knownSecrets, redactingSink, redactingStore, Redactor, secretKindOfVariable } from '../../../src/core/redaction/index.js';
import { MemoryStore } from '../../../src/core/store/memory-store.js';
import type { RunRecord } from '../../../src/core/store/records.js';

describe('Redactor', () => {
  it('replaces every known value by [redacted NAME], the longest first', () => {
    const r = new Redactor();
    r.add('LIFEBOAT_PASSWORD', 'correct horse', 'repository-password');
    r.add('SLACK_BOT_TOKEN', 'xoxb-1234-abcd', 'slack');
    r.add('SHORT', 'horse', 'child-variable');
    expect(r.redact('pw=correct horse, token xoxb-1234-abcd and a horse')).toBe(
      'pw=[redacted LIFEBOAT_PASSWORD], token [redacted SLACK_BOT_TOKEN] and a [redacted SHORT]',
    );
  });

  it('learns the lines and the URL-encoded form of a value, not values too short to be secrets', () => {
    const r = new Redactor();
    r.add('KEY', '-----BEGIN KEY-----\nAAAAsecretbody\n-----END KEY-----\n', 'child-variable');
    r.add('URLPW', 'p@ss w/rd', 'child-variable');
    r.add('TINY', 'abc', 'child-variable');
    expect(r.redact('read: AAAAsecretbody')).toBe('read: [redacted KEY]');
    expect(r.redact('postgres://u:p%40ss%20w%2Frd@db')).toContain('[redacted URLPW]');
    expect(r.redact('abc abc')).toBe('abc abc');
  });

  it('redacts NAME=value for secret-looking names, URL passwords and bearer credentials it was never told about', () => {
    const r = new Redactor();
    expect(r.redact('PGPASSWORD=hunter2 pg_dump orders')).toBe('PGPASSWORD=[redacted PGPASSWORD] pg_dump orders');
    expect(r.redact('export API_KEY="k e y" GITHUB_TOKEN=ghp_x; echo ok')).toBe('export API_KEY=[redacted API_KEY] GITHUB_TOKEN=[redacted GITHUB_TOKEN]; echo ok');
    expect(r.redact('host=db password=s3cret dbname=x')).toBe('host=db password=[redacted password] dbname=x');
    expect(r.redact('could not reach postgres://backup:pa55@db.internal:5432/orders')).toBe(
      'could not reach postgres://backup:[redacted url-password]@db.internal:5432/orders',
    );
    expect(r.redact('curl -H "Authorization: Bearer abcdefgh12345"')).toBe('curl -H "Authorization: Bearer [redacted bearer-credential]"');
    // Ordinary text is left alone.
    expect(r.redact('PATH=/usr/bin LIFEBOAT_RUN_ID=20260310-ab12cd files=3 50MiB/s')).toBe('PATH=/usr/bin LIFEBOAT_RUN_ID=20260310-ab12cd files=3 50MiB/s');
  });

  it('is idempotent: a value that occurs in a placeholder does not garble it', () => {
    const r = new Redactor();
    r.add('LIFEBOAT_PASSWORD', 'hunter22', 'repository-password');
    r.add('ODD', 'redacted', 'child-variable');
    const once = r.redact('hunter22 and redacted');
    expect(once).toBe('[redacted LIFEBOAT_PASSWORD] and [redacted ODD]');
    expect(r.redact(once)).toBe(once);
  });

  it('knows which values no child may get: passwords and Slack credentials, not AWS or passed values', () => {
    const r = new Redactor();
    r.add('PW', 'the password', 'repository-password');
    r.add('ALIAS', 'the password', 'child-variable'); // the stronger kind stays
    r.add('SLACK_SIGNING_SECRET', 'signing-secret', 'slack');
    r.add('AWS_SECRET_ACCESS_KEY', 'aws-secret', 'aws');
    expect(r.forbiddenForChildren('the password')).toEqual({ name: 'PW', kind: 'repository-password' });
    expect(r.forbiddenForChildren('signing-secret')?.kind).toBe('slack');
    expect(r.forbiddenForChildren('aws-secret')).toBeUndefined();
  });

  it('redacts copies of records, events and results, keys and non-strings kept', () => {
    const r = new Redactor();
    r.add('T', 'tok-123456', 'child-variable');
    const value = { a: ['x tok-123456', 1, null, true], nested: { 'tok-123456': 'tok-123456' }, when: new Date(0) };
    const out = r.redactDeep(value);
    expect(out).toEqual({ a: ['x [redacted T]', 1, null, true], nested: { 'tok-123456': '[redacted T]' }, when: new Date(0) });
    expect(value.a[0]).toBe('x tok-123456');
  });
});

describe('Redactor: the cheap paths give what the full passes give', () => {
  // The passes as they were before the shortcuts (every regex on every segment, always split on placeholders).
  const SECRET_WORD = 'PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIALS?';
  const ASSIGNMENT = new RegExp(`\\b([A-Za-z0-9_]*?(?:${SECRET_WORD})[A-Za-z0-9_]*)(=)("[^"]+"|'[^']+'|[^\\s"'&;|)]+)`, 'gi');
  const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):([^\s@/]+)@/gi;
  const AUTH_HEADER = /\b(Bearer|Basic) ([A-Za-z0-9._~+/-]{8,}=*)/g;
  const fullShapes = (text: string): string =>
    text
      .split(/(\[redacted [^\]\s]+\])/)
      .map((part, i) =>
        i % 2 === 1
          ? part
          : part
              .replace(ASSIGNMENT, (_m, name: string, eq: string) => `${name}${eq}[redacted ${name}]`)
              .replace(URL_PASSWORD, (_m, head: string) => `${head}:[redacted url-password]@`)
              .replace(AUTH_HEADER, (_m, scheme: string) => `${scheme} [redacted ${scheme.toLowerCase()}-credential]`),
      )
      .join('');

  const samples = [
    'data/etc/app.yaml', '0644', '1.7 KiB → 5.1 KiB', 'mtime 2026-12-01 08:00 → 2026-12-02 09:00', '',
    'DB_PASSWORD=hunter22 next', 'api_key="a b c"', 'x=1 y=2', 'TOKEN=[redacted TOKEN] then SECRET=abc',
    'postgres://user:pw@host/db', 'see https://example.com/a@b', 'postgres://user:pw@host and ://@',
    'Authorization: Bearer abcdefgh123=', 'Basic dXNlcjpwYXNz', 'Bearerabcdefghij', 'bearer abcdefghijk',
    '[redacted X] PASSWORD=x [redacted Y]', '[redacted broken', 'a=[redacted Z]@b://c:d@e',
    'name with\nnewline=PASSWORD=value', 'ünïcödé/päth=ok', 'SECRET_KEY=\'quoted value\'; rest',
  ];

  it('redact: the same text as every pass over every segment, with and without known values', () => {
    for (const known of [false, true]) {
      const r = new Redactor();
      if (known) r.add('PW', 'hunter22', 'repository-password');
      for (const s of samples) {
        const expected = known ? fullShapes(s.split(/(\[redacted [^\]\s]+\])/).map((p, i) => (i % 2 === 1 ? p : p.replaceAll('hunter22', '[redacted PW]'))).join('')) : fullShapes(s);
        expect(r.redact(s), JSON.stringify(s)).toBe(expected);
      }
    }
  });

  it('redactDeep: repeated strings redact alike, every occurrence (the memo is per call, keyed by the exact text)', () => {
    const r = new Redactor();
    r.add('PW', 'hunter22', 'repository-password');
    const value = { rows: samples.flatMap((s) => [{ a: s, b: [s, 'hunter22'] }, { a: s }]), n: 3 };
    const out = r.redactDeep(value);
    expect(out).toEqual(JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'string' ? r.redact(v) : v))));
    expect(JSON.stringify(out)).not.toContain('hunter22');
    r.add('LATER', 'data/etc', 'child-variable');
    expect(r.redactDeep({ p: 'data/etc/app.yaml' })).toEqual({ p: '[redacted LATER]/app.yaml' });
  });
});

describe('known secrets', () => {
  it('takes Slack and AWS credentials and secret-looking variables from the environment, not ordinary settings', async () => {
    const r = await knownSecrets(
      { SLACK_BOT_TOKEN: 'xoxb-secret-1', SLACK_API_URL: 'https://slack.example/api/', AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_REGION: 'eu-west-1', GITHUB_TOKEN: 'ghp_longenough', FEATURE_TOKEN_CHECK: 'false', PATH: '/usr/bin' },
      [],
    );
    expect(r.redact('xoxb-secret-1 AKIAEXAMPLE ghp_longenough')).toBe('[redacted SLACK_BOT_TOKEN] [redacted AWS_ACCESS_KEY_ID] [redacted GITHUB_TOKEN]');
    expect(r.redact('https://slack.example/api/ eu-west-1 false /usr/bin')).toBe('https://slack.example/api/ eu-west-1 false /usr/bin');
    expect([secretKindOfVariable('SLACK_SIGNING_SECRET'), secretKindOfVariable('AWS_SESSION_TOKEN'), secretKindOfVariable('DB_PASSWORD'), secretKindOfVariable('HOME')]).toEqual([
      'slack',
      'aws',
      'environment',
      undefined,
    ]);
  });
});

describe('redacting wrappers', () => {
  it('the store gets redacted copies; the event sink sees redacted events', async () => {
    const r = new Redactor();
    r.add('LIFEBOAT_PASSWORD', 'hunter2hunter2', 'repository-password');
    const memory = new MemoryStore();
    const store = redactingStore(memory, r);
    expect(redactingStore(store, r)).toBe(store);
    const run = { id: 'r1', runbook: 'demo', kind: 'backup', status: 'failed', startedAt: '2026-03-10T00:00:00.000Z', actor: { face: 'cli', user: 'me' }, stages: [], error: { code: 'HOOK_FAILED', message: 'echo hunter2hunter2' } } as unknown as RunRecord;
    await store.putRun(run);
    expect((await memory.getRun('r1'))?.error?.message).toBe('echo [redacted LIFEBOAT_PASSWORD]');
    expect(run.error?.message).toBe('echo hunter2hunter2');
    const seen: EngineEvent[] = [];
    const sink = redactingSink((e) => seen.push(e), r);
    sink({ type: 'hook.output', runId: 'r1', hook: 'before[0]', line: 'pw hunter2hunter2' });
    expect(seen).toEqual([{ type: 'hook.output', runId: 'r1', hook: 'before[0]', line: 'pw [redacted LIFEBOAT_PASSWORD]' }]);
  });
});
