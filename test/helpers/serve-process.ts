/**
 * `lifeboat serve` as a child process, for end-to-end tests: its output
 * collected (the log); with Slack in HTTP mode, where its Slack receiver and
 * /metrics listen once it says so.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';
import { repoRoot, TEST_KEYS_ENV } from './cli.js';

export interface ServeProcess {
  child: ChildProcess;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
  exited: Promise<number | null>;
  /** The port of POST /slack/events. */
  slackPort: number;
  /** `http://127.0.0.1:<port>` of /metrics and /healthz, when they were asked for. */
  metricsUrl?: string;
}

/** A serve child that has not necessarily connected to anything yet. */
export interface SpawnedServe {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  /** Resolves with the first match of `pattern` in the output (polled, with a deadline). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
}

/** Starts `lifeboat serve` with `args`, a minimal environment and `env`; returns at once. */
export function spawnServe(options: { cwd: string; env: Record<string, string>; args?: string[] }): SpawnedServe {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/lifeboat.js'), 'serve', ...(options.args ?? [])], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...TEST_KEYS_ENV, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    exited,
    async waitFor(pattern, timeoutMs = 20_000) {
      await expect.poll(() => pattern.exec(output), { timeout: timeoutMs, interval: 100, message: `serve never printed ${pattern}; it printed:\n${output}` }).not.toBeNull();
      return pattern.exec(output)!;
    },
  };
}

/** Starts serve (`--port 0`, plus `args`) with a minimal environment and `env`, and waits until its Slack app runs. */
export async function startServeWithSlack(options: { cwd: string; env: Record<string, string>; args?: string[] }): Promise<ServeProcess> {
  const served = spawnServe({ ...options, args: ['--port', '0', ...(options.args ?? [])] });
  const running = await served.waitFor(/Slack app running \(http:\/\/127\.0\.0\.1:(\d+)/);
  const metrics = /metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(served.output())?.[1];
  return { child: served.child, output: served.output, exited: served.exited, slackPort: Number(running[1]), ...(metrics ? { metricsUrl: metrics } : {}) };
}
