/**
 * `lifeboat agent` as a child process for fleet tests: its own host name,
 * state folder and working folder; output collected; started once it says it
 * takes jobs; stopped with SIGTERM (or killed) after the file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, TEST_KEYS_ENV } from './cli.js';

export interface AgentProcess {
  host: string;
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  /** Resolves with the first match of `pattern` in the output (polled, with a deadline). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `lifeboat agent --host <host>` (short heartbeat and poll) and waits until it takes jobs. */
export async function startAgent(options: { host: string; cwd: string; env: Record<string, string>; args?: string[] }): Promise<AgentProcess> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/lifeboat.js'), 'agent', '--host', options.host, '--heartbeat', '1s', '--poll', '1s', ...(options.args ?? [])], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...TEST_KEYS_ENV, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const agent: AgentProcess = {
    host: options.host,
    child,
    output: () => output,
    exited,
    // Polled by hand, not expect.poll: the agents start in beforeAll, outside any test.
    async waitFor(pattern, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = pattern.exec(output);
        if (match) return match;
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`agent ${options.host} never printed ${pattern}; it printed:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  await agent.waitFor(/taking jobs from its queue/);
  return agent;
}
