/**
 * What each kind of child process really sees, through the real CLI: a hook
 * in its pty, a stream source, a stream restore and a drill check each write
 * `env` and `cat /proc/self/environ` to files. Lifeboat's own environment is
 * full of secrets (this runbook's password variable, another runbook's, Slack
 * and AWS credentials); none may reach a child, and what the runbook opts in
 * must.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ensureCliBuilt, runCli } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('child-env');

/** Planted in Lifeboat's environment: no child may see any of these names or values. */
const FORBIDDEN = {
  LIFEBOAT_PASSWORD: 'probe-repository-password-1',
  OTHER_PASSWORD: 'other-runbook-password-2',
  SLACK_BOT_TOKEN: 'xoxb-planted-bot-token-3',
  SLACK_SIGNING_SECRET: 'planted-signing-secret-4',
  AWS_SECRET_ACCESS_KEY: 'planted-aws-secret-key-5',
  AWS_ACCESS_KEY_ID: 'AKIAPLANTED6',
};
/** What the runbook opts in, per kind (values by reference). */
const OPTED = { DUMP_TOKEN: 'dump-token-value-7', HOOK_TOKEN: 'hook-token-from-file-8', CHECK_TOKEN: 'check-token-value-9' };

let dir: string;
let out: string;
let env: Record<string, string>;

/** `env` and `cat /proc/self/environ` of one child, into `<out>/<kind>.env` and `<out>/<kind>.environ`. */
const probe = (kind: string) => `env > ${out}/${kind}.env; cat /proc/self/environ > ${out}/${kind}.environ`;

async function seen(kind: string): Promise<{ names: string[]; text: string }> {
  const listed = await readFile(join(out, `${kind}.env`), 'utf8');
  const environ = await readFile(join(out, `${kind}.environ`), 'utf8');
  const names = new Set([...listed.split('\n'), ...environ.split('\0')].filter((l) => l.includes('=')).map((l) => l.slice(0, l.indexOf('='))));
  return { names: [...names].sort(), text: listed + environ };
}

function writeRunbook(name: string, doc: Record<string, unknown>): Promise<void> {
  return writeFile(join(dir, 'runbooks', `${name}.yaml`), stringify({ name, objectives: { rpo: '26h', rto: '5m' }, ...doc }));
}

beforeAll(async () => {
  await ensureCliBuilt();
  dir = await tempDir();
  out = join(dir, 'seen');
  await mkdir(out);
  await mkdir(join(dir, 'runbooks'));
  await mkdir(join(dir, 'data'));
  await writeFile(join(dir, 'data', 'a.txt'), 'some data\n');
  await writeFile(join(dir, 'hook.token'), `${OPTED.HOOK_TOKEN}\n`);
  await chmod(join(dir, 'hook.token'), 0o600);
  await writeRunbook('probe', {
    sources: [
      { name: 'files', path: join(dir, 'data') },
      {
        name: 'dump',
        command: `${probe('source')}; echo dump-bytes`,
        restore: `cat > /dev/null; ${probe('restore')}`,
        env: { DUMP_TOKEN: { env: 'PROBE_DUMP_TOKEN' } },
      },
      // A source that needs AWS (say, `aws s3 cp`) gets the credentials only because it names them.
      { name: 'aws', command: `${probe('aws-source')}; echo aws-bytes`, env: { AWS_SECRET_ACCESS_KEY: { env: 'AWS_SECRET_ACCESS_KEY' } } },
    ],
    hooks: { before: [probe('hook')], after: [probe('after-hook')], env: { HOOK_TOKEN: { file: join(dir, 'hook.token') } } },
    drill: { check: probe('check'), env: { CHECK_TOKEN: { env: 'PROBE_CHECK_TOKEN' } } },
    repository: { hot: { url: `file://${join(dir, 'repo')}` }, password: { env: 'LIFEBOAT_PASSWORD' } },
  });
  // Another runbook: its password variable is a secret too, though this run never needs it.
  await writeRunbook('other', {
    sources: [{ name: 'files', path: join(dir, 'data') }],
    repository: { hot: { url: `file://${join(dir, 'repo-other')}` }, password: { env: 'OTHER_PASSWORD' } },
  });
  env = {
    ...FORBIDDEN,
    PROBE_DUMP_TOKEN: OPTED.DUMP_TOKEN,
    PROBE_CHECK_TOKEN: OPTED.CHECK_TOKEN,
    LIFEBOAT_HOME: join(dir, 'home'),
    LIFEBOAT_RUNBOOKS: join(dir, 'runbooks'),
    LANG: 'C.UTF-8',
  };
  const init = await runCli(['init', 'probe'], { env, cwd: dir });
  expect(init.code, init.stderr).toBe(0);
  const backup = await runCli(['backup', 'probe'], { env, cwd: dir });
  expect(backup.code, backup.stdout + backup.stderr).toBe(0);
  const drill = await runCli(['restore-drill', 'probe'], { env, cwd: dir });
  expect(drill.code, drill.stdout + drill.stderr).toBe(0);
}, 120_000);

describe('the environment of every kind of child process', () => {
  const kinds = [
    { kind: 'hook', what: 'a before hook in its pty', opted: 'HOOK_TOKEN' },
    { kind: 'after-hook', what: 'an after hook in its pty', opted: 'HOOK_TOKEN' },
    { kind: 'source', what: 'a stream source', opted: 'DUMP_TOKEN' },
    { kind: 'restore', what: 'a stream restore in a drill', opted: 'DUMP_TOKEN' },
    { kind: 'check', what: 'a drill check', opted: 'CHECK_TOKEN' },
  ] as const;

  for (const { kind, what, opted } of kinds) {
    it(`${what}: no password variable of any runbook, no Slack or AWS secret; the opted-in ${opted} is there`, async () => {
      const { names, text } = await seen(kind);
      for (const [name, value] of Object.entries(FORBIDDEN)) {
        expect(names, name).not.toContain(name);
        expect(text, `${name}'s value`).not.toContain(value);
      }
      expect(names).toContain(opted);
      expect(text).toContain(`${opted}=${OPTED[opted]}`);
      // The allowlist is there, and nothing of Lifeboat's own configuration.
      expect(names).toEqual(expect.arrayContaining(['PATH', 'HOME', 'LANG']));
      expect(names.filter((n) => n.startsWith('LIFEBOAT_') && !n.startsWith('LIFEBOAT_RUN_'))).not.toContain('LIFEBOAT_HOME');
      expect(names).not.toContain('LIFEBOAT_RUNBOOKS');
      expect(names).not.toContain('NODE_ENV');
    });
  }

  it('a source that opts AWS in gets that credential, and only that one; the other children never do', async () => {
    const aws = await seen('aws-source');
    expect(aws.text).toContain(`AWS_SECRET_ACCESS_KEY=${FORBIDDEN.AWS_SECRET_ACCESS_KEY}`);
    expect(aws.names).not.toContain('AWS_ACCESS_KEY_ID');
    expect(aws.names).not.toContain('LIFEBOAT_PASSWORD');
    expect(aws.names).not.toContain('DUMP_TOKEN');
  });

  it('hooks get Lifeboat’s facts about the run', async () => {
    const { names } = await seen('after-hook');
    expect(names).toEqual(expect.arrayContaining(['LIFEBOAT_HOOK_PHASE', 'LIFEBOAT_RUN_ID', 'LIFEBOAT_RUN_STATUS', 'LIFEBOAT_RUNBOOK']));
    expect((await seen('check')).names).toEqual(expect.arrayContaining(['LIFEBOAT_DRILL_DIR', 'LIFEBOAT_RUNBOOK']));
  });

  it('a runbook that would pass a child another runbook’s password is refused before its first hook', async () => {
    await writeRunbook('greedy', {
      sources: [{ name: 'files', path: join(dir, 'data') }],
      hooks: { before: [`touch ${out}/greedy-hook-ran`], env: { STOLEN: { env: 'OTHER_PASSWORD' } } },
      repository: { hot: { url: `file://${join(dir, 'repo-greedy')}` }, password: { env: 'LIFEBOAT_PASSWORD' } },
    });
    expect((await runCli(['init', 'greedy'], { env, cwd: dir })).code).toBe(0);
    const res = await runCli(['backup', 'greedy'], { env, cwd: dir });
    expect(res.code).toBe(2);
    expect(res.stderr + res.stdout).toContain('hooks.env.STOLEN refers to a repository password (OTHER_PASSWORD), which no child process is given');
    expect(res.stderr + res.stdout).not.toContain(FORBIDDEN.OTHER_PASSWORD);
    await expect(readFile(join(out, 'greedy-hook-ran'))).rejects.toThrow(/ENOENT/);
  });

  it('a stream source whose env: cannot be read fails alone: the run is partial, the error names the variable and the field', async () => {
    await writeRunbook('halfset', {
      sources: [
        { name: 'files', path: join(dir, 'data') },
        { name: 'dump', command: 'echo dump', env: { TOKEN: { env: 'NOT_SET_ANYWHERE' } } },
      ],
      repository: { hot: { url: `file://${join(dir, 'repo-halfset')}` }, password: { env: 'LIFEBOAT_PASSWORD' } },
    });
    expect((await runCli(['init', 'halfset'], { env, cwd: dir })).code).toBe(0);
    const res = await runCli(['backup', 'halfset'], { env, cwd: dir });
    expect(res.code, res.stderr).toBe(3);
    expect(res.stdout + res.stderr).toContain('Environment variable NOT_SET_ANYWHERE is not set (the runbook reads the value of sources[dump].env.TOKEN from it)');
  });
});
