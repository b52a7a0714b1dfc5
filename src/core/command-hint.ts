/**
 * A hint that names a command to run, written so it can be copied and run as
 * is: `lifeboat resume orders`, not `lifeboat resume <runbook>`. The part that
 * writes a hint passes the runbook it works for; a part that was not told
 * (a repository opened without one, in a test or a tool) still says which
 * argument is missing rather than printing a command that would fail.
 */
export function commandHint(command: string, runbook: string | undefined, ...more: string[]): string {
  return `\`${['lifeboat', command, runbook ?? '<runbook>', ...more].join(' ')}\``;
}
