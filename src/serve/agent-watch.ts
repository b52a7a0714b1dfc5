/**
 * serve's leader watching the fleet's agents (src/core/fleet/lost-agents.ts)
 * on a timer, next to its staleness checks: only the leader, so one process
 * fails a lost agent's runs and raises its alert. With the JSON store there
 * are no agents and nothing runs.
 */
import { AgentWatch, formatDuration, type AgentWatchOptions } from '../core/index.js';

/** Often enough that a lost agent is found within lostAfterMs + this (75 s by default, under the 90 s). */
export const DEFAULT_AGENT_CHECK_MS = 15_000;

export interface AgentWatchTimerOptions extends AgentWatchOptions {
  intervalMs?: number;
  log(level: 'info' | 'warn', message: string): void;
}

export interface AgentWatchTimer {
  /** Stops the timer and waits for a pass in flight. */
  stop(): Promise<void>;
}

export function startAgentWatch(options: AgentWatchTimerOptions): AgentWatchTimer {
  const watch = new AgentWatch(options);
  const intervalMs = options.intervalMs ?? DEFAULT_AGENT_CHECK_MS;
  let inFlight: Promise<void> | undefined;
  // A store outage fails every pass: said once when it starts and once when a pass works again, not every interval.
  let failing = false;
  const pass = async () => {
    try {
      const result = await watch.check();
      if (failing) options.log('info', 'lifeboat serve: agent watch works again');
      failing = false;
      for (const host of result.lost) options.log('warn', `lifeboat serve: the agent on ${host} is lost (no heartbeat for ${Math.round((options.lostAfterMs ?? 60_000) / 1000)} s or more)`);
      for (const run of result.failedRuns) options.log('warn', `lifeboat serve: ${run.kind} run ${run.id} of ${run.runbook} recorded failed: ${run.error?.message ?? 'agent lost'}`);
      for (const alert of result.resolved) options.log('info', `lifeboat serve: ${alert.key} resolved: the agent is back`);
      for (const e of result.errors) options.log('warn', `lifeboat serve: agent watch: ${e}`);
    } catch (e) {
      if (!failing) options.log('warn', `lifeboat serve: agent watch failed (tried again every ${formatDuration(intervalMs)}, said again when it works): ${(e as Error).message ?? String(e)}`);
      failing = true;
    }
  };
  const timer = setInterval(() => {
    // A pass slower than the interval is not overlapped by the next.
    inFlight ??= pass().finally(() => (inFlight = undefined));
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await inFlight;
    },
  };
}
