/**
 * Runbook hooks: the `before` and `after` shell commands of a run, each run with
 * `/bin/sh -c` inside a pseudo-terminal (node-pty) so that tools which behave
 * differently on a terminal (line-buffered output, progress bars, colours) show
 * what an operator would see by hand.
 *
 * Contract:
 * - Hooks of one phase run one at a time, in order.
 * - Every output line is streamed as a `hook.output` event, named `before[0]`,
 *   `after[2]` … (index in the runbook's list). Lines are cleaned before they are
 *   emitted or kept: ANSI escape sequences and other control characters are
 *   removed, and a line redrawn with `\r` (a progress bar) counts once, with its
 *   last non-empty state, when it ends. Cursor-movement codes would corrupt the
 *   TUI and mean nothing in Slack, so no face ever sees raw terminal output.
 * - The last `keepLines` (default 20) cleaned lines are kept per hook and for the
 *   phase as a whole, for the run record.
 * - `before`: the first hook that does not exit 0 stops the phase; the rest are
 *   skipped and `ok` is false. The caller fails the run (see {@link hooksError}).
 * - `after`: every hook runs, like `finally`; `ok` is false if any failed.
 * - `timeoutMs` (per hook, default none) and `signal` stop the running hook: its
 *   whole process group gets SIGTERM, then SIGKILL after `killGraceMs` (default
 *   5 s). An abort also skips the hooks not yet started, in both phases — so for
 *   the `after` phase of a cancelled run, pass a signal for a *second* cancel,
 *   not the one that cancelled the run, or the after hooks will not run.
 *
 * Environment: the hook sees exactly `env` — a {@link ChildEnv}, so the child
 * policy of src/core/child/child-env.ts has already decided it — plus Lifeboat's
 * facts: `LIFEBOAT_HOOK_PHASE` (`before` | `after`), `LIFEBOAT_RUN_ID`, then
 * `extraEnv`, which wins. `TERM` defaults to `xterm-256color` when `env` has
 * none. Facts are redacted with `secrets` when given.
 *
 * What the caller passes in `extraEnv` for the `after` phase:
 * - `LIFEBOAT_RUN_STATUS` — the run's outcome: `succeeded`, `partial`, `failed`,
 *   `transfer-pending` or `cancelled`.
 * - `LIFEBOAT_RUNBOOK` — the runbook's name.
 * - `LIFEBOAT_RUN_ID` — the run's id (also set from `runId` in both phases).
 * - `LIFEBOAT_SNAPSHOT_ID` — the snapshot written, when there is one.
 * - `LIFEBOAT_RUN_ERROR` — a one-line, secret-free description of why the run did
 *   not succeed, when it did not.
 */
import { randomBytes } from 'node:crypto';
import { constants as osConstants } from 'node:os';
import type { IPty } from 'node-pty';
import { withFacts, type ChildEnv } from '../child/child-env.js';
import { signalGroup, startInTerminal } from '../child/spawn.js';
import { systemClock, type Clock } from '../clock.js';
import { LifeboatError } from '../errors.js';
import type { EventSink } from '../events.js';
import { formatDuration } from '../format.js';
import type { Redactor } from '../redaction/redactor.js';

export type HookPhase = 'before' | 'after';

export interface RunHooksOptions {
  phase: HookPhase;
  /** The environment of every hook, from the child policy (src/core/child/child-env.ts). */
  env: ChildEnv;
  /** LIFEBOAT_* facts added on top of `env` and LIFEBOAT_HOOK_PHASE; the `after` phase gets the run's outcome here. */
  extraEnv?: Record<string, string>;
  /** Redacts the facts (a run error must not carry a secret into a hook). */
  secrets?: Redactor;
  cwd: string;
  runId: string;
  emit: EventSink;
  signal?: AbortSignal;
  /** Per hook. Default: no limit. */
  timeoutMs?: number;
  /** Lines kept per hook and for the phase. Default 20. */
  keepLines?: number;
  /** How long a stopped hook gets between SIGTERM and SIGKILL. Default 5000 ms. */
  killGraceMs?: number;
  /** For durations. Default: the system clock. */
  clock?: Pick<Clock, 'monotonicMs'>;
}

export interface HookResult {
  /** `before[0]`, `after[1]` …: the name used in `hook.output` events. */
  name: string;
  command: string;
  /** `null` when the hook was ended by a signal. */
  exitCode: number | null;
  /** Name of the signal that ended the hook (`SIGTERM`, `SIGKILL` …), if one did. */
  signal?: string;
  durationMs: number;
  /** Last lines of output, cleaned. */
  tail: string[];
  /** Set when Lifeboat stopped the hook. */
  killed?: 'timeout' | 'abort';
  /** Why the hook counts as failed; absent when it exited 0. */
  error?: string;
}

export interface HooksOutcome {
  /** Every hook that ran exited 0, and none was skipped. */
  ok: boolean;
  /** One per hook that ran, in order. */
  results: HookResult[];
  /** Last lines of the phase as a whole, each prefixed with its hook's name: `[before[0]] …`. */
  tail: string[];
  /** Commands not started: after a failing `before` hook, or after an abort. */
  skipped: string[];
  /** True when the abort signal stopped the phase. */
  aborted: boolean;
}

const DEFAULT_KEEP_LINES = 20;
const DEFAULT_KILL_GRACE_MS = 5000;
/** Kept lines are for a record, not a log: cap each so a 1 MB line cannot bloat the store. */
const MAX_KEPT_LINE = 1000;
/** A "line" that never ends (no newline) is emitted in pieces of this size. */
const MAX_PENDING = 64 * 1024;
const PTY_COLS = 120;
const PTY_ROWS = 40;

// CSI (ESC [ … final, or the 8-bit CSI), OSC (ESC ] … BEL or ST), DCS/SOS/PM/APC strings,
// charset selection (ESC ( B) and the remaining two-byte escapes.
// eslint-disable-next-line no-control-regex
const ANSI = /(?:\u001b\[|\u009b)[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[PX^_][^\u001b]*(?:\u001b\\)?|\u001b[()*+][0-~]|\u001b[ -/]*[0-~]/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** Remove terminal escape sequences and control characters (tabs stay). */
export function stripAnsi(text: string): string {
  return text.replace(ANSI, '').replace(CONTROL, '');
}

/**
 * One raw terminal line (without its `\n`) as it would finally read: the last
 * non-empty state after `\r` redraws, escapes removed, trailing blanks trimmed.
 */
export function cleanTerminalLine(raw: string): string {
  const segments = raw.split('\r');
  for (let i = segments.length - 1; i >= 0; i--) {
    const text = stripAnsi(segments[i] ?? '').trimEnd();
    if (text !== '') return text;
  }
  return '';
}

/** Splits a pty's output into cleaned lines, keeping memory bounded for endless progress redraws. */
class LineSplitter {
  private pending = '';
  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: string): void {
    this.pending += chunk;
    let nl = this.pending.indexOf('\n');
    while (nl >= 0) {
      this.onLine(cleanTerminalLine(this.pending.slice(0, nl)));
      this.pending = this.pending.slice(nl + 1);
      nl = this.pending.indexOf('\n');
    }
    this.collapseRedraws();
    while (this.pending.length > MAX_PENDING) {
      this.onLine(cleanTerminalLine(this.pending.slice(0, MAX_PENDING)));
      this.pending = this.pending.slice(MAX_PENDING);
    }
  }

  end(): void {
    if (this.pending !== '') {
      const line = cleanTerminalLine(this.pending);
      this.pending = '';
      if (line !== '') this.onLine(line);
    }
  }

  /** A progress bar redrawing with `\r` for an hour must not grow the buffer: keep only its last complete state. */
  private collapseRedraws(): void {
    const lastCr = this.pending.lastIndexOf('\r');
    if (lastCr <= 0) return;
    const latest = lastNonEmptySegment(this.pending.slice(0, lastCr));
    this.pending = `${latest}\r${this.pending.slice(lastCr + 1)}`;
  }
}

function lastNonEmptySegment(text: string): string {
  const segments = text.split('\r');
  for (let i = segments.length - 1; i >= 0; i--) {
    const s = segments[i] ?? '';
    if (stripAnsi(s).trimEnd() !== '') return s;
  }
  return '';
}

class Tail {
  readonly lines: string[] = [];
  constructor(private readonly keep: number) {}
  add(line: string): void {
    if (this.keep <= 0) return;
    this.lines.push(line.length > MAX_KEPT_LINE ? `${line.slice(0, MAX_KEPT_LINE - 1)}…` : line);
    if (this.lines.length > this.keep) this.lines.shift();
  }
}

const signalNames = new Map<number, string>(
  Object.entries(osConstants.signals).map(([name, n]) => [n, name] as [number, string]),
);

function hookEnv(options: RunHooksOptions): ChildEnv {
  return withFacts(options.env, { LIFEBOAT_HOOK_PHASE: options.phase, LIFEBOAT_RUN_ID: options.runId, ...options.extraEnv }, options.secrets);
}

interface RunOneContext {
  env: ChildEnv;
  options: RunHooksOptions;
  keepLines: number;
  phaseTail: Tail;
  clock: Pick<Clock, 'monotonicMs'>;
}

/**
 * node-pty on Linux can report the exit of a short-lived process before the last
 * output has been read from the pty, and then drops it (microsoft/node-pty#72,
 * #726) — exactly the lines a failing hook's tail needs. So the hook runs under a
 * small wrapper shell that, after the hook's shell exits, prints an invisible
 * marker (an OSC sequence carrying a nonce and the exit status) and waits for one
 * line on its stdin. The pty is FIFO: once the marker is read, all output before
 * it has been too, and writing the acknowledgement lets the wrapper exit.
 * The hook itself runs in its own `/bin/sh -c`, so `exit 3` in it ends the hook,
 * not the wrapper; both are in one process group, which a kill reaches. The
 * wrapper catches SIGTERM (its child gets the default action back on exec), so a
 * stopped hook still reports through the marker and nothing outlives the wrapper
 * unnoticed; SIGKILL after the grace period ends everything. The wrapper's own
 * stdout and stderr are /dev/null, and the hook's shell takes the terminal back
 * (from fds 3 and 4) in a first line of its own, so the wrapper's "Terminated" /
 * "Killed" notices, which vary by shell, stay out of the hook's tail. (The one
 * visible effect: the hook's script starts on line 2, for LINENO and syntax errors.)
 */
const WRAPPER =
  'trap : TERM; exec 3>&1 4>&2 >/dev/null 2>&1; /bin/sh -c "exec 1>&3 2>&4 3>&- 4>&-\n$1"; rc=$?; ' +
  'printf "\\033]7777;lifeboat-done;%s;%d\\007" "$2" "$rc" >&3; read -r ack; exit "$rc"';

/** Finds the wrapper's done-marker in the raw pty stream; everything before it is the hook's output. */
class DoneMarker {
  private held = '';
  private readonly prefix: string;
  constructor(nonce: string) {
    this.prefix = `\u001b]7777;lifeboat-done;${nonce};`;
  }

  /** Returns the hook output in `data`, and the exit status once the marker is complete. */
  push(data: string): { output: string; exitCode?: number } {
    const s = this.held + data;
    this.held = '';
    const at = s.indexOf(this.prefix);
    if (at >= 0) {
      const bel = s.indexOf('\u0007', at + this.prefix.length);
      if (bel < 0) {
        this.held = s.slice(at);
        return { output: s.slice(0, at) };
      }
      const code = Number(s.slice(at + this.prefix.length, bel));
      return { output: s.slice(0, at), exitCode: Number.isInteger(code) ? code : 255 };
    }
    // Hold back a tail that could be the start of the marker, split across chunks.
    for (let k = Math.min(this.prefix.length - 1, s.length); k > 0; k--) {
      if (this.prefix.startsWith(s.slice(s.length - k))) {
        this.held = s.slice(s.length - k);
        return { output: s.slice(0, s.length - k) };
      }
    }
    return { output: s };
  }

  /** What was held back when the stream ended without a marker (the hook was killed). */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }
}

function runOne(name: string, command: string, ctx: RunOneContext): Promise<HookResult> {
  const { options, clock } = ctx;
  const started = clock.monotonicMs();
  const tail = new Tail(ctx.keepLines);
  const emit = (event: Parameters<EventSink>[0]) => {
    try {
      options.emit(event);
    } catch {
      // A renderer bug must not break a hook.
    }
  };
  const splitter = new LineSplitter((line) => {
    tail.add(line);
    ctx.phaseTail.add(`[${name}] ${line}`);
    emit({ type: 'hook.output', runId: options.runId, hook: name, line });
  });
  const elapsed = () => Math.round(clock.monotonicMs() - started);
  const nonce = randomBytes(8).toString('hex');
  const marker = new DoneMarker(nonce);

  let term: IPty;
  try {
    // node-pty starts the wrapper as a session (and process group) leader: signalGroup(pid) reaches
    // the shell and everything it started, e.g. the `sleep` under `sh -c 'sleep 30; …'`.
    term = startInTerminal('/bin/sh', ['-c', WRAPPER, 'lifeboat-hook', command, nonce], { cwd: options.cwd, env: ctx.env, cols: PTY_COLS, rows: PTY_ROWS });
  } catch (e) {
    const error = `${name} could not start: ${e instanceof Error ? e.message : String(e)}`;
    return Promise.resolve({ name, command, exitCode: null, durationMs: elapsed(), tail: tail.lines, error });
  }

  return new Promise<HookResult>((resolve) => {
    let killed: 'timeout' | 'abort' | undefined;
    let escalated = false;
    let graceTimer: NodeJS.Timeout | undefined;
    /** The hook's exit status, from the marker; set once all its output is in. */
    let doneCode: number | undefined;
    let doneMs = 0;

    const stop = (why: 'timeout' | 'abort') => {
      if (killed || doneCode !== undefined) return;
      killed = why;
      const what = why === 'timeout' ? `timed out after ${formatDuration(options.timeoutMs)}` : 'cancelled';
      emit({ type: 'log', level: 'warn', runId: options.runId, message: `Hook ${name} ${what}: sending SIGTERM to its process group` });
      signalGroup(term.pid, 'SIGTERM');
      graceTimer = setTimeout(() => {
        escalated = true;
        emit({ type: 'log', level: 'warn', runId: options.runId, message: `Hook ${name} still running after SIGTERM: sending SIGKILL` });
        signalGroup(term.pid, 'SIGKILL');
      }, options.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
    };

    const timeoutTimer =
      options.timeoutMs !== undefined && options.timeoutMs > 0 ? setTimeout(() => stop('timeout'), options.timeoutMs) : undefined;
    const onAbort = () => stop('abort');
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const dataSub = term.onData((data) => {
      if (doneCode !== undefined) return; // the echo of the acknowledgement, or late background output
      const { output, exitCode } = marker.push(data);
      if (output !== '') splitter.push(output);
      if (exitCode !== undefined) {
        doneCode = exitCode;
        doneMs = elapsed();
        clearTimeout(timeoutTimer);
        term.write('\n');
        // The wrapper exits as soon as it reads the line; if it somehow does not, do not wait forever.
        graceTimer ??= setTimeout(() => signalGroup(term.pid, 'SIGKILL'), options.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
      }
    });
    const exitSub = term.onExit(({ exitCode, signal }) => {
      clearTimeout(timeoutTimer);
      clearTimeout(graceTimer);
      options.signal?.removeEventListener('abort', onAbort);
      dataSub.dispose();
      exitSub.dispose();
      if (doneCode === undefined) {
        const rest = marker.flush();
        if (rest !== '') splitter.push(rest);
      }
      splitter.end();
      resolve(describeExit(name, command, tail.lines, {
        durationMs: doneCode === undefined ? elapsed() : doneMs,
        doneCode,
        exitCode,
        signal,
        killed,
        escalated,
        timeoutMs: options.timeoutMs,
      }));
    });

    if (options.signal?.aborted) stop('abort');
  });
}

function describeExit(
  name: string,
  command: string,
  tail: string[],
  e: {
    durationMs: number;
    doneCode: number | undefined;
    exitCode: number;
    signal: number | undefined;
    killed: 'timeout' | 'abort' | undefined;
    escalated: boolean;
    timeoutMs: number | undefined;
  },
): HookResult {
  const result: HookResult = { name, command, exitCode: null, durationMs: e.durationMs, tail };
  // What ended the hook: its own status (from the marker, as a shell reports it: 128 + n
  // for a signal) or, when the wrapper itself was killed, the wrapper's signal.
  const fromSignal = (n: number) => signalNames.get(n) ?? `signal ${n}`;
  if (e.doneCode !== undefined) {
    if (e.killed && e.doneCode > 128 && signalNames.has(e.doneCode - 128)) result.signal = fromSignal(e.doneCode - 128);
    else result.exitCode = e.doneCode;
  } else if (e.signal) {
    result.signal = fromSignal(e.signal);
  } else {
    result.exitCode = e.exitCode;
  }

  if (e.killed) {
    result.killed = e.killed;
    const how = e.escalated ? 'killed with SIGTERM, then SIGKILL' : 'killed with SIGTERM';
    result.error =
      e.killed === 'timeout' ? `${name} timed out after ${formatDuration(e.timeoutMs)} (${how})` : `${name} was cancelled (${how})`;
  } else if (e.doneCode !== undefined) {
    if (e.doneCode !== 0) {
      const bySignal = e.doneCode > 128 ? signalNames.get(e.doneCode - 128) : undefined;
      result.error = `${name} exited with code ${e.doneCode}${bySignal ? ` (128 + ${bySignal}: killed by a signal?)` : ''}`;
    }
  } else if (result.signal) {
    result.error = `${name} was killed by ${result.signal}`;
  } else {
    // The wrapper ended without reporting: it could not start (e.g. a missing cwd) or was killed from outside.
    result.error = `${name} ended without reporting its status (exit code ${e.exitCode})`;
  }
  return result;
}

/** Run one phase's hooks. Never throws for a failing hook: the outcome says what happened. */
export async function runHooks(commands: readonly string[], options: RunHooksOptions): Promise<HooksOutcome> {
  const keepLines = Math.max(0, options.keepLines ?? DEFAULT_KEEP_LINES);
  const ctx: RunOneContext = {
    env: hookEnv(options),
    options,
    keepLines,
    phaseTail: new Tail(keepLines),
    clock: options.clock ?? systemClock,
  };
  const results: HookResult[] = [];
  const skipped: string[] = [];
  let ok = true;
  let aborted = false;

  for (const [index, command] of commands.entries()) {
    if (options.signal?.aborted) aborted = true;
    if (aborted || (!ok && options.phase === 'before')) {
      skipped.push(command);
      continue;
    }
    const result = await runOne(`${options.phase}[${index}]`, command, ctx);
    results.push(result);
    if (result.error !== undefined) ok = false;
    if (result.killed === 'abort') aborted = true;
  }
  if (aborted || skipped.length > 0) ok = false;
  return { ok, results, tail: ctx.phaseTail.lines, skipped, aborted };
}

/**
 * The error that ends a run whose hooks failed: CANCELLED when the phase was
 * aborted, HOOK_FAILED otherwise (naming the first failing hook, its exit and
 * tail). `undefined` when the phase succeeded.
 */
export function hooksError(phase: HookPhase, outcome: HooksOutcome): LifeboatError | undefined {
  if (outcome.ok) return undefined;
  const failed = outcome.results.find((r) => r.error !== undefined);
  if (outcome.aborted) {
    return new LifeboatError('CANCELLED', `Cancelled during the ${phase} hooks${failed ? `: ${failed.error}` : ''}`, {
      details: { phase, skipped: outcome.skipped },
    });
  }
  const message = failed
    ? `${phase === 'before' ? 'Before' : 'After'} hook failed: ${failed.error} — ${failed.command}`
    : `${phase === 'before' ? 'Before' : 'After'} hooks did not complete`;
  return new LifeboatError('HOOK_FAILED', message, {
    details: {
      phase,
      hook: failed?.name,
      command: failed?.command,
      exitCode: failed?.exitCode,
      signal: failed?.signal,
      tail: failed?.tail ?? outcome.tail,
      skipped: outcome.skipped,
    },
  });
}
