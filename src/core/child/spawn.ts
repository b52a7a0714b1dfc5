/**
 * Starting a child in a pseudo-terminal (hooks: tools behave as an operator
 * sees them by hand), and stopping a child's whole process group. Every other
 * child runs through ./run-piped.ts. Both take only a {@link ChildEnv}, so
 * every child gets the environment policy of ./child-env.ts and nothing else,
 * and both start the child as the leader of its own process group, so a stop
 * reaches everything it started (`sh -c 'pg_dump … | gzip'`).
 */
import { createRequire } from 'node:module';
import type { IPty } from 'node-pty';
import type { ChildEnv } from './child-env.js';

/**
 * node-pty (a native addon and its JS) is loaded when a hook first runs, not by every
 * command that merely imports the engine: `ls` or `restore` of one file paid ~20–50 ms
 * of start-up CPU for it (issue 20).
 */
let pty: typeof import('node-pty') | undefined;
const loadPty = (): typeof import('node-pty') => (pty ??= createRequire(import.meta.url)('node-pty') as typeof import('node-pty'));

export interface ShellOptions {
  cwd: string;
  env: ChildEnv;
}

/**
 * `file args…` in a pseudo-terminal of `cols` × `rows`. node-pty starts it as
 * a session (and process group) leader. A terminal needs TERM: when the
 * environment has none, xterm-256color.
 */
export function startInTerminal(file: string, args: string[], options: ShellOptions & { cols: number; rows: number }): IPty {
  const env = { ...options.env, TERM: options.env.TERM ?? 'xterm-256color' };
  return loadPty().spawn(file, args, { name: env.TERM, cols: options.cols, rows: options.rows, cwd: options.cwd, env });
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
