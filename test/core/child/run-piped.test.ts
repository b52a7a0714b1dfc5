/**
 * The one runner for children that are not in a terminal (stream sources,
 * their restores, drill checks): real /bin/sh children, real files, real
 * signals. What it must hold: the child sees exactly its ChildEnv; output is
 * binary-safe with backpressure; a stop reaches the whole process group and
 * escalates to SIGKILL; a command that ignores its stdin cannot crash Lifeboat.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { childEnvironment } from '../../../src/core/child/child-env.js';
import { runPiped } from '../../../src/core/child/run-piped.js';
import { processAlive } from '../../../src/core/process-info.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('run-piped');
const TAIL = { chars: 4096, lines: 10 };

const env = () => childEnvironment({ parent: { PATH: process.env.PATH, LIFEBOAT_PASSWORD: 'never passed', SLACK_BOT_TOKEN: 'xoxb-never' }, where: 'test.env', facts: { LIFEBOAT_RUNBOOK: 'rb' } });

/** The file's text once the child has written it. */
async function waitForFile(path: string): Promise<string> {
  for (let i = 0; i < 400; i++) {
    const text = await readFile(path, 'utf8').catch(() => '');
    if (text.endsWith('\n')) return text;
    await sleep(25);
  }
  throw new Error(`${path} was never written`);
}

/** Polls until `pid` is gone: the assertion is that it goes, not how fast. */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 200 && processAlive(pid); i++) await sleep(50);
  return !processAlive(pid);
}

describe('runPiped', () => {
  it('gives the child exactly its ChildEnv and keeps stdout and stderr, interleaved, in a bounded tail', async () => {
    const cwd = await tempDir();
    const res = await runPiped('env | sort; for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo "err $i" >&2; done; exit 7', { cwd, env: await env(), tail: TAIL });
    expect(res).toMatchObject({ code: 7, signal: null, timedOut: false, cancelled: false });
    expect(res.tail).toHaveLength(10);
    expect(res.tail.at(-1)).toBe('err 12');
    const all = await runPiped('env', { cwd, env: await env(), tail: { chars: 4096, lines: 100 } });
    const names = all.tail.map((l) => l.slice(0, l.indexOf('='))).filter((n) => n !== 'PWD' && n !== 'SHLVL' && n !== '_');
    expect(names.sort()).toEqual(['LIFEBOAT_RUNBOOK', 'PATH']);
  });

  it('hands stdout to readStdout byte for byte, with the tail holding stderr alone', async () => {
    const cwd = await tempDir();
    const data = randomBytes(3 * 1024 * 1024 + 17);
    await writeFile(join(cwd, 'data.bin'), data);
    const hash = createHash('sha256');
    let slowReads = 0;
    const res = await runPiped('echo starting >&2; cat data.bin; echo done >&2', {
      cwd,
      env: await env(),
      tail: TAIL,
      readStdout: async (stdout) => {
        for await (const piece of stdout) {
          hash.update(piece);
          // A slow reader: the child waits for it (backpressure) instead of filling memory.
          if (slowReads++ < 5) await sleep(20);
        }
      },
    });
    expect(res.code).toBe(0);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    expect(res.tail).toEqual(['starting', 'done']);
  });

  it('stops the child when its time is up', async () => {
    const cwd = await tempDir();
    expect(await runPiped('exec sleep 600', { cwd, env: await env(), tail: TAIL, timeoutMs: 200 })).toMatchObject({ timedOut: true, cancelled: false, code: null, signal: 'SIGTERM' });
  });

  it('stops the whole process group: the shell and what it started', async () => {
    const cwd = await tempDir();
    const ac = new AbortController();
    const running = runPiped('sleep 600 & echo $! > grandchild.pid; wait', { cwd, env: await env(), tail: TAIL, signal: ac.signal });
    const grandchild = Number((await waitForFile(join(cwd, 'grandchild.pid'))).trim());
    ac.abort();
    expect(await running).toMatchObject({ cancelled: true, timedOut: false, signal: 'SIGTERM' });
    expect(await gone(grandchild)).toBe(true);
    // Aborted before it starts: started and stopped at once.
    expect(await runPiped('exec sleep 600', { cwd, env: await env(), tail: TAIL, signal: AbortSignal.abort() })).toMatchObject({ cancelled: true });
  });

  it('sends SIGKILL after the grace period to a child that ignores SIGTERM', async () => {
    const cwd = await tempDir();
    const ac = new AbortController();
    const running = runPiped("trap '' TERM; echo trapped; echo > trapped; while :; do sleep 0.1; done", { cwd, env: await env(), tail: TAIL, signal: ac.signal, stopGraceMs: 200 });
    await waitForFile(join(cwd, 'trapped'));
    ac.abort();
    expect(await running).toMatchObject({ cancelled: true, signal: 'SIGKILL', tail: ['trapped'] });
  });

  it('feeds a file to stdin; a command that exits without reading it all is not a crash (no EPIPE escapes)', async () => {
    const cwd = await tempDir();
    const input = join(cwd, 'dump');
    await writeFile(input, randomBytes(8 * 1024 * 1024));
    const partial = await runPiped('head -c 10 > /dev/null; sleep 0.2; exit 3', { cwd, env: await env(), tail: TAIL, stdinFile: input });
    expect(partial.code).toBe(3);
    const whole = await runPiped('wc -c', { cwd, env: await env(), tail: TAIL, stdinFile: input });
    expect(whole).toMatchObject({ code: 0, tail: [String(8 * 1024 * 1024)] });
    const missing = await runPiped('cat > /dev/null', { cwd, env: await env(), tail: TAIL, stdinFile: join(cwd, 'no-such-dump') });
    expect(missing.code).toBe(0); // the command saw an empty stdin; the caller decides what an absent dump means
  });

  it('stops the child and throws the reader’s error once the child is gone', async () => {
    const cwd = await tempDir();
    const failure = new Error('the repository refused a blob');
    const res = runPiped('echo $$ > child.pid; exec cat /dev/zero', {
      cwd,
      env: await env(),
      tail: TAIL,
      readStdout: async (stdout) => {
        for await (const piece of stdout) {
          if (piece.length > 0) throw failure;
        }
      },
    });
    await expect(res).rejects.toBe(failure);
    const pid = Number((await readFile(join(cwd, 'child.pid'), 'utf8')).trim());
    expect(processAlive(pid)).toBe(false);
  });

  it('rejects when the child cannot start at all', async () => {
    await expect(runPiped('true', { cwd: '/nonexistent/folder', env: await env(), tail: TAIL })).rejects.toThrow(/ENOENT/);
  });
});
