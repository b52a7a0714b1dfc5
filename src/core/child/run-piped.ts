/**
 * The one runner for every child process that is not in a terminal: a stream
 * source's command (its stdout is the backup), a stream source's `restore`
 * and the drill's `check`. Hooks run in a pty instead (./spawn.ts,
 * src/core/pipeline/hooks.ts), because tools behave there as an operator sees
 * them by hand; everything else comes here, so all of them share:
 *
 * - the environment: a {@link ChildEnv}, made only by ./child-env.ts (the
 *   allowlist, the runbook's `env:` references, Lifeboat's facts);
 * - `/bin/sh -c command` as the leader of its own process group, so a stop
 *   reaches everything it started (`pg_dump … | gzip`);
 * - one stop: on timeout or cancel the whole group gets SIGTERM, then SIGKILL
 *   after {@link STOP_GRACE_MS} if anything of it is still there;
 * - one bounded tail of what it printed (./output-tail.ts), for the record.
 *
 * Why not zx (it was a dependency and is gone): measured here with zx 8.8.5,
 * every default had to be undone. It keeps all of a child's output in memory
 * (300 MB of `pg_dump` output grew the process by 260 MiB) unless its store is
 * replaced; it runs bash with `set -euo pipefail;` prefixed, and reads ZX_*
 * variables (ZX_SHELL, ZX_PREFIX, ZX_TIMEOUT …) from Lifeboat's environment at
 * import, so an operator's shell settings would change what a runbook's
 * command means; its kill walks the process tree with a `ps` child that gets
 * Lifeboat's whole environment, outside the policy above; a `restore` that
 * exits before reading all of its stdin crashed the process with an uncaught
 * EPIPE; and importing it cost ~90 ms at every CLI start. What is left —
 * spawn, pipe a file in, keep a tail, stop a group — is this file.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createReadStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import type { ChildEnv } from './child-env.js';
import { OutputTail } from './output-tail.js';
import { signalGroup } from './spawn.js';

/** Between SIGTERM and SIGKILL when a child is stopped: time to flush and exit, not to hang a cancel. */
export const STOP_GRACE_MS = 5000;

export interface PipedRunOptions {
  cwd: string;
  env: ChildEnv;
  /** A file fed to the child's stdin (a drill's `restore` reads the restored dump); default /dev/null. */
  stdinFile?: string;
  /** Stop the child after this long (SIGTERM, then SIGKILL). Default: no limit. */
  timeoutMs?: number;
  /** Stop the child when aborted. */
  signal?: AbortSignal;
  /** What the record keeps: the last `lines` non-blank lines of the last `chars` characters. */
  tail: { chars: number; lines: number };
  /**
   * Reads stdout (a stream source's data), with backpressure: the child is
   * paused while this is busy. Without it, stdout goes to the tail with
   * stderr, interleaved as they came; with it, the tail is stderr alone. If it
   * throws, the child is stopped and the error is thrown once the child is gone.
   */
  readStdout?: (stdout: AsyncIterable<Buffer>) => Promise<void>;
  /** Between SIGTERM and SIGKILL. Default {@link STOP_GRACE_MS}. */
  stopGraceMs?: number;
}

export interface PipedRunResult {
  /** `null` when the child was ended by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Stopped because `timeoutMs` passed. */
  timedOut: boolean;
  /** Stopped because `signal` was aborted. */
  cancelled: boolean;
  tail: string[];
  durationMs: number;
}

type PipedChild = ChildProcessByStdio<Writable | null, Readable, Readable>;

/** Run `/bin/sh -c command` to its end (or its stop) and say how it ended. Rejects only when it cannot start or `readStdout` throws. */
export async function runPiped(command: string, options: PipedRunOptions): Promise<PipedRunResult> {
  const started = performance.now();
  const child = spawn('/bin/sh', ['-c', command], {
    cwd: options.cwd,
    env: options.env,
    stdio: [options.stdinFile !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    detached: true, // a process group of its own
  }) as PipedChild;
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });

  const tail = new OutputTail(options.tail.chars);
  // Decoded per stream, so a character split between two reads is not mangled.
  child.stderr.setEncoding('utf8').on('data', (d: string) => tail.push(d));
  if (!options.readStdout) child.stdout.setEncoding('utf8').on('data', (d: string) => tail.push(d));
  if (options.stdinFile !== undefined && child.stdin) feedFile(options.stdinFile, child.stdin);

  let timedOut = false;
  let cancelled = false;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = () => {
    if (killTimer) return;
    signalGroup(child.pid, 'SIGTERM');
    killTimer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), options.stopGraceMs ?? STOP_GRACE_MS);
  };
  const timeoutTimer =
    options.timeoutMs !== undefined
      ? setTimeout(() => {
          timedOut = true;
          stop();
        }, options.timeoutMs)
      : undefined;
  const onAbort = () => {
    cancelled = true;
    stop();
  };
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });

  try {
    let readError: { error: unknown } | undefined;
    if (options.readStdout) {
      try {
        await options.readStdout(child.stdout);
      } catch (error) {
        readError = { error };
        stop();
        child.stdout.resume(); // what is still in the pipe must drain, or the child never closes
      }
    }
    const { code, signal } = await closed;
    if (readError) throw readError.error;
    return { code, signal, timedOut, cancelled, tail: tail.lines(options.tail.lines), durationMs: performance.now() - started };
  } finally {
    clearTimeout(timeoutTimer);
    clearTimeout(killTimer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** Pipe a file into the child's stdin; the child may exit before reading it all (EPIPE is its business, not a crash). */
function feedFile(path: string, stdin: Writable): void {
  const input = createReadStream(path);
  input.on('error', (e) => stdin.destroy(e));
  stdin.on('error', () => undefined);
  input.pipe(stdin);
}
