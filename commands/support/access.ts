/**
 * Who may run what. A command's `access` names the runbook list that decides
 * (`access.backup` or `access.drill`). The CLI and the TUI run as the local
 * Unix user, who already has the data and the key files, so they are trusted;
 * the runbook lists are checked for chat faces, where anyone in a channel can
 * type a command or press a button.
 *
 * A restricted command that names no runbook (an Acknowledge whose key names
 * none) is decided by every runbook's list: only someone on some runbook's
 * list of that kind gets past, so a person on no list is never let through by
 * a request that simply leaves the runbook out.
 */
import type { Runbook } from '../../src/core/index.js';
import type { Command, CommandContext } from '../command.js';
import { allRunbooks } from './all-runbooks.js';
import { loadRunbookArg } from './runbook-arg.js';

export interface AccessDecision {
  allowed: boolean;
  reason: string;
}

/** Slack user group membership, supplied by the Slack face (cached there). */
export type GroupResolver = (handle: string) => Promise<readonly string[]>;

type AccessContext = CommandContext & { resolveGroup?: GroupResolver };

export async function authorize(command: Command<unknown>, args: unknown, ctx: AccessContext): Promise<AccessDecision> {
  if (command.access === 'anyone') return { allowed: true, reason: 'open to everyone' };
  if (ctx.actor.face !== 'slack') return { allowed: true, reason: `local ${ctx.actor.face} user` };
  const level = command.access;
  const ref = command.runbookOf?.(args);
  if (!ref) return authorizeWithoutRunbook(command.name, level, ctx);
  const runbook = await loadRunbookArg(ref, ctx);
  const allowed = listOf(runbook, level);
  const why = await membership(allowed, level, ctx);
  if (why) return { allowed: true, reason: why };
  const who = allowed.length > 0 ? allowed.join(', ') : 'nobody (the runbook lists no one)';
  return { allowed: false, reason: `you may not ${command.name} ${runbook.name}: access.${level} allows ${who}` };
}

async function authorizeWithoutRunbook(name: string, level: 'backup' | 'drill', ctx: AccessContext): Promise<AccessDecision> {
  for (const runbook of await allRunbooks(ctx)) {
    const why = await membership(listOf(runbook, level), level, ctx);
    if (why) return { allowed: true, reason: `${why} of runbook ${runbook.name} (the request names no runbook)` };
  }
  return { allowed: false, reason: `you may not ${name} without naming a runbook: you are on no runbook's access.${level}` };
}

function listOf(runbook: Runbook, level: 'backup' | 'drill'): readonly string[] {
  return level === 'backup' ? runbook.access.backup : runbook.access.drill;
}

/** Why the actor is on the list (an entry, or a member of a listed @group), or undefined. */
async function membership(list: readonly string[], level: 'backup' | 'drill', ctx: AccessContext): Promise<string | undefined> {
  if (list.includes(ctx.actor.user)) return `listed in access.${level}`;
  for (const entry of list) {
    if (entry.startsWith('@') && ctx.resolveGroup) {
      const members = await ctx.resolveGroup(entry);
      if (members.includes(ctx.actor.user)) return `member of ${entry}`;
    }
  }
  return undefined;
}
