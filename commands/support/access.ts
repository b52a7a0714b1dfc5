/**
 * Who may run what. A command's `access` names the runbook list that decides
 * (`access.backup` or `access.drill`). The CLI and the TUI run as the local
 * Unix user, who already has the data and the key files, so they are trusted;
 * the runbook lists are checked for chat faces, where anyone in a channel can
 * type a command.
 */
import type { Command, CommandContext } from '../command.js';
import { loadRunbookArg } from './runbook-arg.js';

export interface AccessDecision {
  allowed: boolean;
  reason: string;
}

/** Slack user group membership, supplied by the Slack face (cached there). */
export type GroupResolver = (handle: string) => Promise<readonly string[]>;

export async function authorize(command: Command<unknown>, args: unknown, ctx: CommandContext & { resolveGroup?: GroupResolver }): Promise<AccessDecision> {
  if (command.access === 'anyone') return { allowed: true, reason: 'open to everyone' };
  if (ctx.actor.face !== 'slack') return { allowed: true, reason: `local ${ctx.actor.face} user` };
  const ref = command.runbookOf?.(args);
  if (!ref) return { allowed: true, reason: 'no runbook involved' };
  const runbook = await loadRunbookArg(ref, ctx);
  const allowed = command.access === 'backup' ? runbook.access.backup : runbook.access.drill;
  if (allowed.includes(ctx.actor.user)) return { allowed: true, reason: `listed in access.${command.access}` };
  for (const entry of allowed) {
    if (entry.startsWith('@') && ctx.resolveGroup) {
      const members = await ctx.resolveGroup(entry);
      if (members.includes(ctx.actor.user)) return { allowed: true, reason: `member of ${entry}` };
    }
  }
  const who = allowed.length > 0 ? allowed.join(', ') : 'nobody (the runbook lists no one)';
  return { allowed: false, reason: `you may not ${command.name} ${runbook.name}: access.${command.access} allows ${who}` };
}
