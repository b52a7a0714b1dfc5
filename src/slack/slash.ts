/**
 * Slash command text → which shared command to invoke, with which argv. Pure:
 * no Slack, no store. Everything the face does not route itself goes through
 * `invokeCommand`, which parses, authorizes, runs and audits.
 */
import { backupCommand } from '../../commands/backup.js';
import type { Command } from '../../commands/command.js';
import { restoreDrillCommand } from '../../commands/restore-drill.js';
import { statusCommand } from '../../commands/status.js';

export type SlashCommandName = '/backup' | '/restore-drill';

export type SlashRoute =
  | { kind: 'help' }
  /** Rejected by the face before any command runs (still audited by the caller). */
  | { kind: 'usage'; message: string }
  | {
      kind: 'invoke';
      command: Command<unknown>;
      argv: string[];
      /** Starts a run: reply with one in-channel message updated in place. */
      live: boolean;
      /** `/backup status <runbook>`: show only that row. */
      onlyRunbook?: string;
      /**
       * `/backup list` and `/backup status` are both answered from the status
       * command, rendered as names, descriptions and health: never the runbook
       * list's repository URLs or folder, which are for the local user.
       */
      view?: 'list' | 'status';
    };

/**
 * Runbook names only: a Slack user must not make the server load a YAML file by
 * path (`/backup ../../etc/x.yaml`), which the CLI allows its local user.
 */
const RUNBOOK_NAME = /^[a-z0-9][a-z0-9_-]*$/i;
const SNAPSHOT_ID = /^[0-9a-f]{1,64}$|^latest$/i;

export function tokenize(text: string): string[] {
  return text.trim().split(/\s+/).filter((t) => t !== '');
}

export function routeSlash(name: string, text: string): SlashRoute {
  const words = tokenize(text);
  const option = words.find((w) => w.startsWith('-'));
  if (option !== undefined && option !== '-h' && option !== '--help') return { kind: 'usage', message: `options such as "${option}" are not available from Slack` };
  if (words[0] === 'help' || words.includes('--help') || words.includes('-h')) return { kind: 'help' };
  if (name === '/backup') {
    const [first, ...rest] = words;
    if (first === undefined) return { kind: 'invoke', command: backupCommand as Command<unknown>, argv: [], live: true };
    if (first === 'list') {
      if (rest.length > 0) return { kind: 'usage', message: '`/backup list` takes no arguments' };
      return { kind: 'invoke', command: statusCommand as Command<unknown>, argv: [], live: false, view: 'list' };
    }
    if (first === 'status') {
      if (rest.length > 1) return { kind: 'usage', message: `unexpected argument "${rest[1]}" after \`/backup status ${rest[0]}\`` };
      if (rest[0] !== undefined && !RUNBOOK_NAME.test(rest[0])) return { kind: 'usage', message: `"${rest[0]}" is not a runbook name` };
      return { kind: 'invoke', command: statusCommand as Command<unknown>, argv: [], live: false, view: 'status', ...(rest[0] !== undefined ? { onlyRunbook: rest[0] } : {}) };
    }
    if (!RUNBOOK_NAME.test(first)) return { kind: 'usage', message: `"${first}" is not a runbook name (names only, no paths)` };
    // Extra words go through so the command's own parser names them.
    return { kind: 'invoke', command: backupCommand as Command<unknown>, argv: words, live: true };
  }
  if (name === '/restore-drill') {
    const [runbook, snapshot] = words;
    if (runbook !== undefined && !RUNBOOK_NAME.test(runbook)) return { kind: 'usage', message: `"${runbook}" is not a runbook name (names only, no paths)` };
    if (snapshot !== undefined && !SNAPSHOT_ID.test(snapshot)) return { kind: 'usage', message: `"${snapshot}" is not a snapshot id (hex prefix, or latest)` };
    return { kind: 'invoke', command: restoreDrillCommand as Command<unknown>, argv: words, live: runbook !== undefined };
  }
  return { kind: 'usage', message: `unknown command ${name}` };
}
