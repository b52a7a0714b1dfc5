/**
 * Slash command text → which shared command to invoke, with which argv. Pure:
 * no Slack, no store. Everything the face does not route itself goes through
 * `invokeCommand`, which parses, authorizes, runs and audits.
 */
import { backupCommand } from '../../commands/backup.js';
import type { Command } from '../../commands/command.js';
import { restoreDrillCommand } from '../../commands/restore-drill.js';
import { statusCommand } from '../../commands/status.js';
import { drillPath, isLifeboatError } from '../core/index.js';

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

/** A word of `/restore-drill`'s text; `quoted` words are never options or snapshot ids. */
interface Word {
  text: string;
  quoted: boolean;
}

/** Opening quote → its closing one: straight quotes, and the curly ones Slack's editor may type. */
const QUOTES: Record<string, string> = { '"': '"', '“': '”', '”': '”', "'": "'", '‘': '’' };

/**
 * Words split on whitespace, where a quoted part is one word: `"data/My
 * Files/a.txt"` (a path with spaces). No escapes: a path holding a quote
 * mark is quoted with the other kind. Slack sends `&`, `<` and `>` as HTML
 * entities; they are decoded here, once.
 */
export function slashWords(text: string): Word[] | { error: string } {
  const words: Word[] = [];
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i]!)) {
      i++;
      continue;
    }
    const close = QUOTES[text[i]!];
    if (close !== undefined) {
      const end = text.indexOf(close, i + 1);
      if (end === -1) return { error: `a quote opened at "${text.slice(i, i + 20)}" is not closed` };
      words.push({ text: unescapeSlack(text.slice(i + 1, end)), quoted: true });
      i = end + 1;
      continue;
    }
    let end = i;
    while (end < text.length && !/\s/.test(text[end]!)) end++;
    words.push({ text: unescapeSlack(text.slice(i, end)), quoted: false });
    i = end;
  }
  return words;
}

function unescapeSlack(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

export function routeSlash(name: string, text: string): SlashRoute {
  if (name === '/restore-drill') return routeDrill(text);
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
  return { kind: 'usage', message: `unknown command ${name}` };
}

/**
 * `/restore-drill <runbook> [snapshot] [path]`. A second word is the snapshot
 * when it looks like one (a hex id prefix, or `latest`), else the path: so
 * `/restore-drill app-data data/etc/app.yaml` drills that path in the latest
 * snapshot, and a path that looks like an id is named after one
 * (`/restore-drill app-data latest cafe`) or quoted. The path goes to the
 * command as `--path=<path>` (one argv word, whatever it holds), checked here
 * by core's drillPath first so a bad one gets an ephemeral usage answer and
 * nothing runs; one that is not in the snapshot is the drill's finding.
 */
function routeDrill(text: string): SlashRoute {
  const parsed = slashWords(text);
  if ('error' in parsed) return { kind: 'usage', message: parsed.error };
  const plain = parsed.filter((w) => !w.quoted).map((w) => w.text);
  const option = plain.find((w) => w.startsWith('-'));
  if (option !== undefined && option !== '-h' && option !== '--help') return { kind: 'usage', message: `options such as "${option}" are not available from Slack` };
  if ((parsed[0]?.text === 'help' && !parsed[0].quoted) || plain.includes('--help') || plain.includes('-h')) return { kind: 'help' };
  const [runbook, ...rest] = parsed;
  if (runbook !== undefined && !RUNBOOK_NAME.test(runbook.text)) return { kind: 'usage', message: `"${runbook.text}" is not a runbook name (names only, no paths)` };
  const looksLikeSnapshot = (w: Word | undefined) => w !== undefined && !w.quoted && SNAPSHOT_ID.test(w.text);
  if (rest.length > 2) return { kind: 'usage', message: `too many words after \`/restore-drill ${runbook!.text}\`: it takes [snapshot] [path]; a path with spaces goes in quotes, e.g. "data/My Files/report.pdf"` };
  const snapshot = rest.length === 2 || looksLikeSnapshot(rest[0]) ? rest[0] : undefined;
  const path = rest.length === 2 ? rest[1] : snapshot === undefined ? rest[0] : undefined;
  if (snapshot !== undefined && !looksLikeSnapshot(snapshot)) {
    // Most likely a path with a space in it: say how to write that.
    const spaced = snapshot.quoted ? '' : `; a path with spaces goes in quotes: "${snapshot.text} ${rest[1]!.text}"`;
    return { kind: 'usage', message: `"${snapshot.text}" is not a snapshot id (hex prefix, or latest)${spaced}` };
  }
  const argv = [runbook, snapshot].filter((w): w is Word => w !== undefined).map((w) => w.text);
  if (path !== undefined) {
    try {
      argv.push(`--path=${drillPath(path.text)}`);
    } catch (e) {
      if (isLifeboatError(e, 'USAGE')) return { kind: 'usage', message: e.message };
      throw e;
    }
  }
  return { kind: 'invoke', command: restoreDrillCommand as Command<unknown>, argv, live: runbook !== undefined };
}
