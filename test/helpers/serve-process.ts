/**
 * `lifeboat serve` as a child process, for end-to-end tests: its output
 * collected (the log); with Slack in HTTP mode, where its Slack receiver and
 * /metrics listen once it says so.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnHost, type HostProcess } from './host-process.js';

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
export type SpawnedServe = HostProcess;

/** Starts `lifeboat serve` with `args`, a minimal environment and `env`; returns at once. */
export function spawnServe(options: { cwd: string; env: Record<string, string>; args?: string[] }): SpawnedServe {
  return spawnHost('serve', options);
}

/** Starts serve (`--port 0`, plus `args`) with a minimal environment and `env`, and waits until its Slack app runs. */
export async function startServeWithSlack(options: { cwd: string; env: Record<string, string>; args?: string[] }): Promise<ServeProcess> {
  const served = spawnServe({ ...options, args: ['--port', '0', ...(options.args ?? [])] });
  const running = await served.waitFor(/Slack app running \(http:\/\/127\.0\.0\.1:(\d+)/);
  const metrics = /metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(served.output())?.[1];
  return { child: served.child, output: served.output, exited: served.exited, slackPort: Number(running[1]), ...(metrics ? { metricsUrl: metrics } : {}) };
}
