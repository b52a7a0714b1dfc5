/**
 * `lifeboat serve` with Slack in HTTP mode as a child process, for end-to-end
 * tests: its output collected (the log), and where its Slack receiver and
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

/** Starts serve (`--port 0`, plus `args`) with a minimal environment and `env`, and waits until its Slack app runs. */
export async function startServeWithSlack(options: { cwd: string; env: Record<string, string>; args?: string[] }): Promise<ServeProcess> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/lifeboat.js'), 'serve', '--port', '0', ...(options.args ?? [])], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...TEST_KEYS_ENV, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const running = /Slack app running \(http:\/\/127\.0\.0\.1:(\d+)/;
  await expect.poll(() => running.exec(output)?.[1], { timeout: 20_000 }).toBeDefined();
  const metrics = /metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(output)?.[1];
  return { child, output: () => output, exited, slackPort: Number(running.exec(output)![1]), ...(metrics ? { metricsUrl: metrics } : {}) };
}
