/**
 * Runs a drill's shell commands (a stream source's `restore`, the runbook's
 * `drill.check`) with a timeout, optionally feeding a file to stdin, and keeps
 * the tail of their output for the drill record. The environment is the
 * caller's {@link ChildEnv}: the child policy of src/core/child/child-env.ts.
 */
import { createReadStream } from 'node:fs';
import type { ChildEnv } from '../child/child-env.js';
import { OutputTail } from '../child/output-tail.js';
import { signalGroup, startShell } from '../child/spawn.js';

export interface ShellResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** The last lines of stdout and stderr, interleaved as they came. */
  tail: string[];
  durationMs: number;
}

const TAIL_CHARS = 8192;
const TAIL_LINES = 15;

export function runShell(
  command: string,
  options: { cwd: string; env: ChildEnv; stdinFile?: string; timeoutMs: number; signal?: AbortSignal },
): Promise<ShellResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = startShell(command, { cwd: options.cwd, env: options.env, stdin: options.stdinFile ? 'pipe' : 'ignore' });
    const output = new OutputTail(TAIL_CHARS);
    const keep = (d: Buffer) => output.push(d);
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    if (options.stdinFile && child.stdin) {
      const stdin = child.stdin;
      const input = createReadStream(options.stdinFile);
      input.on('error', (e) => stdin.destroy(e));
      stdin.on('error', () => undefined); // the command may exit before reading everything
      input.pipe(stdin);
    }
    let timedOut = false;
    // The whole process group: a timeout must stop the whole pipeline.
    const kill = () => signalGroup(child.pid, 'SIGKILL');
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, options.timeoutMs);
    options.signal?.addEventListener('abort', kill, { once: true });
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', kill);
      resolve({ code, signal, timedOut, tail: output.lines(TAIL_LINES), durationMs: performance.now() - started });
    });
  });
}
