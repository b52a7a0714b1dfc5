import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../../src/core/events.js';
import { childEnvironment } from '../../../src/core/child/child-env.js';
import { cleanTerminalLine, hooksError, runHooks, stripAnsi, type RunHooksOptions } from '../../../src/core/pipeline/hooks.js';
import type { ChildEnvRefs } from '../../../src/core/runbook/types.js';
import { processAlive } from '../../../src/core/process-info.js';

let dir: string;
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'lifeboat-hooks-')));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The child policy's environment for a parent holding only PATH (and whatever `parent` adds). */
const childEnv = (parent: Record<string, string | undefined> = {}, optIn?: ChildEnvRefs) =>
  childEnvironment({ parent: { PATH: process.env.PATH, ...parent }, optIn, where: 'hooks.env' });

async function harness(extra: Partial<RunHooksOptions> = {}) {
  const events: { at: number; event: EngineEvent }[] = [];
  const options: RunHooksOptions = {
    phase: 'before',
    env: await childEnv(),
    cwd: dir,
    runId: 'run-1',
    emit: (event) => events.push({ at: performance.now(), event }),
    ...extra,
  };
  const output = (hook?: string) =>
    events.flatMap(({ event }) => (event.type === 'hook.output' && (hook === undefined || event.hook === hook) ? [event.line] : []));
  return { options, events, output };
}

describe('runHooks', () => {
  it('streams every line as a hook.output event, in order, while the hook runs', async () => {
    const h = await harness();
    const outcome = await runHooks(['for i in 1 2 3; do echo "line $i"; done; sleep 0.6; echo "line 4"', 'echo next'], h.options);
    expect(outcome.ok).toBe(true);
    expect(h.output('before[0]')).toEqual(['line 1', 'line 2', 'line 3', 'line 4']);
    expect(h.output('before[1]')).toEqual(['next']);
    expect(h.output()).toEqual(['line 1', 'line 2', 'line 3', 'line 4', 'next']);
    for (const { event } of h.events) if (event.type === 'hook.output') expect(event.runId).toBe('run-1');
    // Live, not collected at exit: line 3 arrived well before line 4.
    const at = (line: string) => h.events.find(({ event }) => event.type === 'hook.output' && event.line === line)?.at ?? Number.NaN;
    expect(at('line 4') - at('line 3')).toBeGreaterThan(400);
    expect(outcome.results.map((r) => [r.name, r.command, r.exitCode, r.tail])).toEqual([
      ['before[0]', 'for i in 1 2 3; do echo "line $i"; done; sleep 0.6; echo "line 4"', 0, ['line 1', 'line 2', 'line 3', 'line 4']],
      ['before[1]', 'echo next', 0, ['next']],
    ]);
    expect(outcome.results[0]?.durationMs).toBeGreaterThanOrEqual(500);
    expect(outcome.tail).toEqual(['[before[0]] line 1', '[before[0]] line 2', '[before[0]] line 3', '[before[0]] line 4', '[before[1]] next']);
    expect(hooksError('before', outcome)).toBeUndefined();
  });

  it('runs hooks on a terminal', async () => {
    const h = await harness();
    const outcome = await runHooks(
      ['if [ -t 1 ]; then echo "stdout is a tty"; else echo "stdout is not a tty"; fi; [ -t 0 ] && echo "stdin is a tty"; echo "TERM=$TERM"'],
      h.options,
    );
    expect(outcome.ok).toBe(true);
    expect(h.output()).toEqual(['stdout is a tty', 'stdin is a tty', 'TERM=xterm-256color']);
  });

  it('a failing before hook stops the remaining before hooks', async () => {
    const h = await harness();
    const marker = join(dir, 'marker');
    const outcome = await runHooks(['echo first', 'echo "cannot reach database" >&2; exit 3', `touch ${marker}`, 'echo never'], h.options);
    expect(outcome.ok).toBe(false);
    expect(outcome.aborted).toBe(false);
    expect(outcome.results.map((r) => [r.name, r.exitCode, r.error])).toEqual([
      ['before[0]', 0, undefined],
      ['before[1]', 3, 'before[1] exited with code 3'],
    ]);
    expect(outcome.results[1]?.tail).toEqual(['cannot reach database']);
    expect(outcome.skipped).toEqual([`touch ${marker}`, 'echo never']);
    expect(existsSync(marker)).toBe(false);
    expect(h.output()).toEqual(['first', 'cannot reach database']);

    const error = hooksError('before', outcome);
    expect(error?.code).toBe('HOOK_FAILED');
    expect(error?.message).toBe('Before hook failed: before[1] exited with code 3 — echo "cannot reach database" >&2; exit 3');
    expect(error?.details).toMatchObject({ phase: 'before', hook: 'before[1]', exitCode: 3, tail: ['cannot reach database'] });
  });

  it('runs every after hook even when one fails', async () => {
    const marker = join(dir, 'marker');
    const h = await harness({ phase: 'after' });
    const outcome = await runHooks(['echo one; exit 1', 'echo two; exit 2', `touch ${marker}; echo three`], h.options);
    expect(outcome.ok).toBe(false);
    expect(outcome.skipped).toEqual([]);
    expect(outcome.results.map((r) => [r.name, r.exitCode])).toEqual([
      ['after[0]', 1],
      ['after[1]', 2],
      ['after[2]', 0],
    ]);
    expect(existsSync(marker)).toBe(true);
    expect(h.output()).toEqual(['one', 'two', 'three']);
    expect(hooksError('after', outcome)?.message).toBe('After hook failed: after[0] exited with code 1 — echo one; exit 1');
  });

  it('passes exactly the child policy\'s environment, the run outcome and the LIFEBOAT_* names, and the cwd', async () => {
    process.env.LIFEBOAT_TEST_SECRET = 'hunter2';
    try {
      const h = await harness({
        phase: 'after',
        env: await childEnv({ FOO_SOURCE: 'bar baz', DROPPED: undefined, LIFEBOAT_TEST_SECRET: 'hunter2' }, { FOO: { kind: 'env', name: 'FOO_SOURCE' } }),
        extraEnv: { LIFEBOAT_RUN_STATUS: 'partial', LIFEBOAT_RUNBOOK: 'demo', LIFEBOAT_RUN_ID: 'run-1' },
      });
      const outcome = await runHooks(
        [
          'echo "FOO=$FOO status=$LIFEBOAT_RUN_STATUS runbook=$LIFEBOAT_RUNBOOK id=$LIFEBOAT_RUN_ID phase=$LIFEBOAT_HOOK_PHASE dropped=${DROPPED-unset}"',
          'pwd',
          'env | cut -d= -f1 | sort',
        ],
        h.options,
      );
      expect(outcome.ok).toBe(true);
      expect(h.output('after[0]')).toEqual(['FOO=bar baz status=partial runbook=demo id=run-1 phase=after dropped=unset']);
      expect(h.output('after[1]')).toEqual([dir]);
      const names = h.output('after[2]');
      expect(names).not.toContain('LIFEBOAT_TEST_SECRET');
      expect(names).not.toContain('HOME');
      // Only what was given, plus what the shell itself sets (PWD, and OLDPWD/SHLVL/_ on some shells).
      const given = ['FOO', 'LIFEBOAT_HOOK_PHASE', 'LIFEBOAT_RUNBOOK', 'LIFEBOAT_RUN_ID', 'LIFEBOAT_RUN_STATUS', 'PATH', 'TERM'];
      expect(names.filter((n) => !['PWD', 'OLDPWD', 'SHLVL', '_'].includes(n))).toEqual(given);
    } finally {
      delete process.env.LIFEBOAT_TEST_SECRET;
    }
  });

  it('a timeout kills the process group of a long hook quickly', async () => {
    const pidFile = join(dir, 'sleep.pid');
    const h = await harness({ timeoutMs: 300 });
    const started = performance.now();
    const outcome = await runHooks([`echo starting; sleep 30 & echo $! > ${pidFile}; wait`, 'echo never'], h.options);
    const took = performance.now() - started;
    expect(took).toBeLessThan(3000);
    expect(outcome.ok).toBe(false);
    expect(outcome.aborted).toBe(false);
    const r = outcome.results[0];
    expect(r).toMatchObject({ killed: 'timeout', exitCode: null, signal: 'SIGTERM', tail: ['starting'] });
    expect(r?.error).toBe('before[0] timed out after 300ms (killed with SIGTERM)');
    expect(outcome.skipped).toEqual(['echo never']);
    // The background `sleep` was in the hook's process group and is gone too.
    const sleepPid = Number(readFileSync(pidFile, 'utf8').trim());
    await expect.poll(() => processAlive(sleepPid), { timeout: 2000 }).toBe(false);
    expect(h.events.some(({ event }) => event.type === 'log' && event.message.includes('timed out'))).toBe(true);
    expect(hooksError('before', outcome)?.code).toBe('HOOK_FAILED');
  });

  it('a plain `sleep 30` is killed by the timeout', async () => {
    const h = await harness({ timeoutMs: 200 });
    const started = performance.now();
    const outcome = await runHooks(['sleep 30'], h.options);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(outcome.results[0]).toMatchObject({ killed: 'timeout', signal: 'SIGTERM' });
  });

  it('escalates to SIGKILL when a hook ignores SIGTERM', async () => {
    const h = await harness({ timeoutMs: 200, killGraceMs: 300 });
    const started = performance.now();
    const outcome = await runHooks(['trap "" TERM; echo stubborn; sleep 30'], h.options);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(outcome.results[0]).toMatchObject({ killed: 'timeout', exitCode: null, signal: 'SIGKILL' });
    expect(outcome.results[0]?.error).toBe('before[0] timed out after 200ms (killed with SIGTERM, then SIGKILL)');
  });

  it('an abort kills the running hook, skips the rest and reports a cancellation', async () => {
    const controller = new AbortController();
    const h = await harness({ phase: 'after', signal: controller.signal });
    const options: RunHooksOptions = {
      ...h.options,
      emit: (event) => {
        h.options.emit(event);
        if (event.type === 'hook.output' && event.line === 'started') controller.abort();
      },
    };
    const started = performance.now();
    const outcome = await runHooks(['echo started; sleep 30; echo finished', 'echo never'], options);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(outcome).toMatchObject({ ok: false, aborted: true, skipped: ['echo never'] });
    expect(outcome.results).toHaveLength(1);
    expect(outcome.results[0]).toMatchObject({ killed: 'abort', signal: 'SIGTERM', tail: ['started'] });
    expect(outcome.results[0]?.error).toBe('after[0] was cancelled (killed with SIGTERM)');
    expect(h.output()).toEqual(['started']);
    const error = hooksError('after', outcome);
    expect(error?.code).toBe('CANCELLED');
  });

  it('runs nothing when the signal is already aborted', async () => {
    const h = await harness({ signal: AbortSignal.abort() });
    const outcome = await runHooks(['echo a', 'echo b'], h.options);
    expect(outcome).toEqual({ ok: false, results: [], tail: [], skipped: ['echo a', 'echo b'], aborted: true });
  });

  it('strips ANSI codes and \\r progress redraws from what it keeps and streams', async () => {
    const h = await harness();
    const outcome = await runHooks(
      [
        "printf '\\033[1;31mred\\033[0m plain\\n'",
        "printf '\\033]0;window title\\007hello \\033[2K\\033[1Gworld\\n'",
        "printf 'progress 10%%\\rprogress 50%%\\rprogress 100%%\\n'",
        "printf '\\033[32m✔\\033[39m done\\r\\033[K\\n'",
        // A progress bar that redraws 2000 times without a newline collapses to its last state.
        "i=0; while [ $i -lt 2000 ]; do printf '\\rcopying %d' $i; i=$((i+1)); done; echo",
        "printf 'no newline at the end'",
      ],
      h.options,
    );
    expect(outcome.ok).toBe(true);
    const expected = ['red plain', 'hello world', 'progress 100%', '✔ done', 'copying 1999', 'no newline at the end'];
    expect(outcome.results.flatMap((r) => r.tail)).toEqual(expected);
    expect(h.output()).toEqual(expected);
    // eslint-disable-next-line no-control-regex
    for (const line of outcome.tail) expect(line).not.toMatch(/[\u001b\r]/);
  });

  it('keeps only the last keepLines lines, per hook and for the phase', async () => {
    const h = await harness({ keepLines: 3 });
    const outcome = await runHooks(['seq 1 50', 'echo x; echo y'], h.options);
    expect(h.output('before[0]')).toHaveLength(50);
    expect(outcome.results[0]?.tail).toEqual(['48', '49', '50']);
    expect(outcome.results[1]?.tail).toEqual(['x', 'y']);
    expect(outcome.tail).toEqual(['[before[0]] 50', '[before[1]] x', '[before[1]] y']);
  });

  it('reports the status a shell reports for a hook killed by a signal it did not get from Lifeboat', async () => {
    const h = await harness({ phase: 'after' });
    const outcome = await runHooks(['echo bye; kill -KILL $$'], h.options);
    expect(outcome.ok).toBe(false);
    expect(outcome.results[0]).toMatchObject({
      exitCode: 137,
      error: 'after[0] exited with code 137 (128 + SIGKILL: killed by a signal?)',
      tail: ['bye'],
    });
    expect(outcome.results[0]?.killed).toBeUndefined();
  });

  it('keeps the last lines of a fast hook that exits right after a burst of output', async () => {
    // node-pty alone can report the exit before the last chunk is read (microsoft/node-pty#726).
    for (let round = 0; round < 10; round++) {
      const h = await harness({ keepLines: 2 });
      const outcome = await runHooks(["i=0; while [ $i -lt 3000 ]; do echo \"row $i of some output\"; i=$((i+1)); done; echo 'last words' >&2; exit 4"], h.options);
      expect(outcome.results[0]?.tail).toEqual(['row 2999 of some output', 'last words']);
      expect(outcome.results[0]?.exitCode).toBe(4);
      expect(h.output()).toHaveLength(3001);
    }
  });

  it('a missing working directory fails the hook with the reason in its tail', async () => {
    const h = await harness({ cwd: join(dir, 'missing') });
    const outcome = await runHooks(['echo hi'], h.options);
    expect(outcome.ok).toBe(false);
    expect(outcome.results[0]?.exitCode).not.toBe(0);
    expect(outcome.results[0]?.tail.join('\n')).toMatch(/chdir|No such file/);
  });

  it('a throwing event sink does not break a hook', async () => {
    const h = await harness({
      emit: () => {
        throw new Error('renderer bug');
      },
    });
    const outcome = await runHooks(['echo still fine'], h.options);
    expect(outcome.ok).toBe(true);
    expect(outcome.results[0]?.tail).toEqual(['still fine']);
  });

  it('an empty list is a success', async () => {
    expect(await runHooks([], (await harness()).options)).toEqual({ ok: true, results: [], tail: [], skipped: [], aborted: false });
  });
});

describe('terminal line cleaning', () => {
  it('strips escape sequences and control characters, keeps tabs and text', () => {
    expect(stripAnsi('\u001b[38;5;196mred\u001b[0m\tok\u0007')).toBe('red\tok');
    expect(stripAnsi('\u001b]8;;https://example.com\u001b\\link\u001b]8;;\u001b\\')).toBe('link');
    expect(stripAnsi('\u001b(Bplain\u001b=\u001b>')).toBe('plain');
  });

  it('takes the last non-empty state of a redrawn line', () => {
    expect(cleanTerminalLine('10%\r50%\r100%')).toBe('100%');
    expect(cleanTerminalLine('done   \r\u001b[K')).toBe('done');
    expect(cleanTerminalLine('\r\r')).toBe('');
    expect(cleanTerminalLine('plain\r')).toBe('plain');
  });
});
