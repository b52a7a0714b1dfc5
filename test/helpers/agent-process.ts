/**
 * `lifeboat agent` as a child process for fleet tests: its own host name,
 * state folder and working folder; output collected; started once it says it
 * takes jobs; stopped with SIGTERM (or killed) after the file.
 */
import { spawnHost, type HostProcess } from './host-process.js';

export interface AgentProcess extends HostProcess {
  host: string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `lifeboat agent --host <host>` (short heartbeat and poll) and waits until it takes jobs. */
export async function startAgent(options: { host: string; cwd: string; env: Record<string, string>; args?: string[] }): Promise<AgentProcess> {
  const spawned = spawnHost('agent', { ...options, args: ['--host', options.host, '--heartbeat', '1s', '--poll', '1s', ...(options.args ?? [])] });
  const agent: AgentProcess = {
    ...spawned,
    host: options.host,
    async stop() {
      if (spawned.child.exitCode === null && spawned.child.signalCode === null) spawned.child.kill('SIGTERM');
      return spawned.exited;
    },
  };
  await agent.waitFor(/taking jobs from its queue/);
  return agent;
}
