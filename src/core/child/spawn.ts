/**
 * The one way Lifeboat starts a child process: a runbook's shell command,
 * either with pipes (stream sources, stream restores, drill checks: binary-safe
 * output) or in a pseudo-terminal (hooks: tools behave as an operator sees
 * them by hand). Both take only a {@link ChildEnv}, so every child gets the
 * environment policy of ./child-env.ts and nothing else, and both start the
 * child as the leader of its own process group, so a stop reaches everything
 * it started (`sh -c 'pg_dump … | gzip'`).
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { spawn as spawnPty, type IPty } from 'node-pty';
import type { ChildEnv } from './child-env.js';

export interface ShellOptions {
  cwd: string;
  env: ChildEnv;
}

export type PipedChild = ChildProcessByStdio<Writable | null, Readable, Readable>;

/** `/bin/sh -c command` with stdout and stderr piped; stdin piped when `stdin` is 'pipe', else /dev/null. */
export function startShell(command: string, options: ShellOptions & { stdin?: 'pipe' | 'ignore' }): PipedChild {
  // stdout and stderr are always pipes; the stdio array's type is lost on the way through spawn's overloads.
  return spawn('/bin/sh', ['-c', command], {
    cwd: options.cwd,
    env: options.env,
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
    detached: true, // a process group of its own
  }) as PipedChild;
}

/**
 * `file args…` in a pseudo-terminal of `cols` × `rows`. node-pty starts it as
 * a session (and process group) leader. A terminal needs TERM: when the
 * environment has none, xterm-256color.
 */
export function startInTerminal(file: string, args: string[], options: ShellOptions & { cols: number; rows: number }): IPty {
  const env = { ...options.env, TERM: options.env.TERM ?? 'xterm-256color' };
  return spawnPty(file, args, { name: env.TERM, cols: options.cols, rows: options.rows, cwd: options.cwd, env });
}

/** Signal a child's whole process group (falling back to the child alone); a child already gone is fine. */
export function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}
