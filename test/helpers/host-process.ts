/**
 * A host the CLI launches (`lifeboat serve`, `lifeboat agent`) as a child
 * process for end-to-end tests: a minimal environment plus the test's, its
 * output collected (stdout and stderr: the log), and a wait for a line of it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, TEST_KEYS_ENV } from './cli.js';

export interface HostProcess {
  child: ChildProcess;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
  exited: Promise<number | null>;
  /** Resolves with the first match of `pattern` in the output; throws with the output after `timeoutMs` or when the process ended. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
}

/** Starts `lifeboat <host> ...args` in `cwd`; returns at once. */
export function spawnHost(host: 'serve' | 'agent', options: { cwd: string; env: Record<string, string>; args?: string[] }): HostProcess {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/lifeboat.js'), host, ...(options.args ?? [])], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...TEST_KEYS_ENV, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // 'close' comes after the last output (an exited process's pipes may still hold some): a wait gives up only then.
  let closed = false;
  child.on('close', () => (closed = true));
  return {
    child,
    output: () => output,
    exited,
    // Polled by hand rather than with expect.poll: agents and servers are also started in beforeAll, outside any test.
    async waitFor(pattern, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = pattern.exec(output);
        if (match) return match;
        if (Date.now() > deadline || closed) throw new Error(`${host} never printed ${pattern}; it printed:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}
