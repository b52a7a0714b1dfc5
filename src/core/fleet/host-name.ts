/**
 * Which host this process is, for the fleet (issue 19): the name an agent
 * registers under and the name a runbook's `host:` is compared with.
 */
import os from 'node:os';

/** Overrides os.hostname(): two agents on one machine, a container whose hostname is random, tests. */
export const HOST_ENV = 'LIFEBOAT_HOST';

export function localHostName(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const named = env[HOST_ENV]?.trim();
  return named !== undefined && named !== '' ? named : os.hostname();
}

/** A runbook without `host:` runs wherever it is started (the single-machine default); one with it, only there. */
export function runsHere(runbook: { host?: string | undefined }, here: string): boolean {
  return runbook.host === undefined || runbook.host === here;
}
