/**
 * What a scheduled job runs: a command of the registry serve was given, with
 * arguments built typed from the runbook serve holds (e.g. verify's read-data
 * fraction as the number the runbook gives, not a percentage written out for
 * `check` to parse back). The argument types are the commands' own, so a
 * command whose arguments change no longer compiles here instead of failing at
 * 02:00.
 */
import type { Command } from '../../commands/command.js';
import type { backupCommand } from '../../commands/backup.js';
import type { checkCommand } from '../../commands/check.js';
import type { copyCommand } from '../../commands/copy.js';
import type { maintainCommand } from '../../commands/maintain.js';
import type { restoreDrillCommand } from '../../commands/restore-drill.js';
import type { tierCommand } from '../../commands/tier.js';
import type { Job, Runbook } from '../core/index.js';

type ArgsOf<C> = C extends Command<infer A> ? A : never;

/** The command each kind of job runs. */
export const commandOfKind = { backup: 'backup', verify: 'check', drill: 'restore-drill', tier: 'tier', copy: 'copy', maintain: 'maintain' } as const satisfies Record<Job['kind'], string>;

export interface ScheduledInvocation {
  /** The command's name in the registry. */
  command: (typeof commandOfKind)[Job['kind']];
  args: ArgsOf<typeof backupCommand> | ArgsOf<typeof checkCommand> | ArgsOf<typeof restoreDrillCommand> | ArgsOf<typeof tierCommand> | ArgsOf<typeof copyCommand> | ArgsOf<typeof maintainCommand>;
  /** How the request reads in the audit log. */
  argv: string[];
}

/** Scheduled runs do what the runbook says, with the defaults an operator's bare command would get. */
export function scheduledInvocation(kind: Job['kind'], runbook: Runbook): ScheduledInvocation {
  const argv = [runbook.name];
  switch (kind) {
    case 'backup':
      return { command: commandOfKind.backup, args: { runbook: runbook.name } satisfies ArgsOf<typeof backupCommand>, argv };
    case 'verify':
      return { command: commandOfKind.verify, args: { runbook: runbook.name, readData: runbook.verify.readDataFraction } satisfies ArgsOf<typeof checkCommand>, argv };
    case 'drill':
      return {
        command: commandOfKind.drill,
        args: { runbook: runbook.name, snapshot: 'latest', keep: false, tier: 'hot', estimate: false } satisfies ArgsOf<typeof restoreDrillCommand>,
        argv,
      };
    case 'tier':
      return { command: commandOfKind.tier, args: { runbook: runbook.name, dryRun: false, estimate: false } satisfies ArgsOf<typeof tierCommand>, argv };
    case 'copy':
      return { command: commandOfKind.copy, args: { runbook: runbook.name } satisfies ArgsOf<typeof copyCommand>, argv };
    case 'maintain':
      return { command: commandOfKind.maintain, args: { runbook: runbook.name, withinMs: undefined, copy: undefined } satisfies ArgsOf<typeof maintainCommand>, argv };
  }
}
