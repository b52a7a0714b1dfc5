/**
 * Records of many runbooks split by runbook, each group in the list's order
 * (newest first, as stores list them). One pass rather than a filter per
 * runbook: status, /metrics and the kept lists handle 500 runbooks × thousands
 * of records.
 */
export function groupByRunbook<T extends { runbook: string }>(records: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const r of records) {
    const group = groups.get(r.runbook);
    if (group) group.push(r);
    else groups.set(r.runbook, [r]);
  }
  return groups;
}
