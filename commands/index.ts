/** Every operator command, in the order help lists them. */
import type { Command } from './command.js';
import { ackCommand } from './ack.js';
import { alertsCommand } from './alerts.js';
import { auditCommand } from './audit.js';
import { backupCommand } from './backup.js';
import { checkCommand } from './check.js';
import { copyCommand } from './copy.js';
import { diffCommand } from './diff.js';
import { dumpCommand } from './dump.js';
import { findFilesCommand } from './find.js';
import { forgetCommand } from './forget.js';
import { maintainCommand } from './maintain.js';
import { historyCommand } from './history.js';
import { hostsCommand } from './hosts.js';
import { initCommand } from './init.js';
import { lsCommand } from './ls.js';
import { migrateCommand } from './migrate.js';
import { repairIndexCommand } from './repair-index.js';
import { restoreCommand } from './restore.js';
import { restoreDrillCommand } from './restore-drill.js';
import { resumeCommand } from './resume.js';
import { runbooksCommand } from './runbooks.js';
import { scheduleCommand } from './schedule.js';
import { snapshotsCommand } from './snapshots.js';
import { startCommand } from './start.js';
import { statusCommand } from './status.js';
import { storeCommand } from './store.js';
import { tierCommand } from './tier.js';

export const commands: readonly Command<unknown>[] = [
  startCommand,
  statusCommand,
  runbooksCommand,
  initCommand,
  backupCommand,
  resumeCommand,
  snapshotsCommand,
  lsCommand,
  findFilesCommand,
  diffCommand,
  dumpCommand,
  restoreCommand,
  restoreDrillCommand,
  checkCommand,
  forgetCommand,
  maintainCommand,
  repairIndexCommand,
  migrateCommand,
  tierCommand,
  copyCommand,
  historyCommand,
  scheduleCommand,
  hostsCommand,
  alertsCommand,
  ackCommand,
  auditCommand,
  storeCommand,
] as Command<unknown>[];

export function findCommand(name: string): Command<unknown> | undefined {
  return commands.find((c) => c.name === name);
}

export type { Command, CommandContext, CommandResult } from './command.js';
export { invokeCommand, parseCommandArgs, usageLine } from './invoke.js';
