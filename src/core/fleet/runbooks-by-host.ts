/**
 * The runbooks each host runs: the ones naming it in `host:`. A runbook
 * without `host:` runs wherever it is started and belongs to no agent.
 */
import type { Runbook } from '../runbook/types.js';

/** host → its runbooks, by runbook name; hosts by name. */
export function runbooksByHost<R extends Pick<Runbook, 'name' | 'host'>>(runbooks: readonly R[]): Map<string, R[]> {
  const byHost = new Map<string, R[]>();
  for (const runbook of [...runbooks].sort((a, b) => a.name.localeCompare(b.name))) {
    if (runbook.host === undefined) continue;
    byHost.set(runbook.host, [...(byHost.get(runbook.host) ?? []), runbook]);
  }
  return new Map([...byHost].sort(([a], [b]) => a.localeCompare(b)));
}
