/**
 * `/backup list` and `/backup status` in Slack: each runbook's name,
 * description and health, built from the status command's result. Anyone in
 * the channel reads these, so they are built from named cells only — never a
 * repository URL, a path or a machine's own name, whatever else the result
 * carries. The one host name shown is the fleet host a runbook names in
 * `host:` (issue 19), which `/backup status` groups by when runbooks of more
 * than one host are shown.
 */
import type { CommandResult } from '../../../commands/command.js';
import type { StatusEntry } from '../../../commands/status.js';
import { context, escape, section, type Block, type Message } from './types.js';

export interface RunbookHealth {
  name: string;
  description?: string;
  state: 'ok' | 'stale' | 'no-backup' | 'invalid';
  /** `label: value` facts, most important first: backup age against the RPO, then restores, then alerts. */
  facts: { label: string; value: string }[];
  /** The fleet host the runbook names (`host:`); absent: whichever host starts it. */
  host?: string;
}

/** The status table's cells that may be shown, in the order shown, with their labels. */
const FACTS: readonly { key: string; label: string }[] = [
  { key: 'rpo', label: 'age / RPO' },
  { key: 'last', label: 'last backup' },
  { key: 'alerts', label: 'open alerts' },
  { key: 'rto', label: 'hot RTO' },
  { key: 'cold', label: 'cold RTO' },
];

/** How many facts `/backup list` shows per runbook (age / RPO, last backup, open alerts). */
const LIST_FACTS = 3;
/** Slack allows 50 blocks in a message; a folder with more runbooks is summarised. */
const MAX_RUNBOOK_BLOCKS = 40;

const ICON: Record<RunbookHealth['state'], string> = {
  ok: ':white_check_mark:',
  stale: ':red_circle:',
  'no-backup': ':white_circle:',
  invalid: ':warning:',
};

/** Pure: the status command's result as health per runbook. */
export function healthFromStatus(result: CommandResult): RunbookHealth[] {
  const entries = (Array.isArray(result.data) ? result.data : []) as StatusEntry[];
  const rows = result.table?.rows ?? [];
  return entries.map((entry) => {
    const row = rows.find((r) => r.runbook === entry.runbook) ?? {};
    const state = !entry.valid ? 'invalid' : entry.rpoState === 'ok' ? 'ok' : entry.rpoState === 'STALE' ? 'stale' : 'no-backup';
    const facts = FACTS.flatMap(({ key, label }) => {
      const value = row[key];
      return value === undefined || value === '—' ? [] : [{ label, value }];
    });
    return { name: entry.runbook, ...(entry.description ? { description: entry.description } : {}), state, facts };
  });
}

function headline(h: RunbookHealth): string {
  return `${ICON[h.state]} *${escape(h.name)}*${h.description ? ` — ${escape(h.description)}` : ''}`;
}

function factLine(facts: RunbookHealth['facts']): string {
  return facts.map((f) => `${f.label}: ${escape(f.value)}`).join(' · ');
}

/** `/backup list`: one entry per runbook with its health in a line. */
export function runbookListMessage(request: string, runbooks: readonly RunbookHealth[]): Message {
  const count = `${runbooks.length} runbook${runbooks.length === 1 ? '' : 's'}`;
  if (runbooks.length === 0) return { text: `${request}: no runbooks`, blocks: [section(`*${escape(request)}* — there are no runbooks yet`)] };
  const lines = runbooks.map((h) => `${headline(h)}\n      ${factLine(h.facts.slice(0, LIST_FACTS))}`);
  return {
    text: `${request}: ${count}: ${runbooks.map((h) => h.name).join(', ')}`,
    blocks: [section(`*${escape(request)}* — ${count}`), section(lines.join('\n')), context('`/backup status <runbook>` for restores and alerts; `/backup <runbook>` backs one up')],
  };
}

/** `/backup status [runbook]`: each runbook with every fact of its health; grouped by host when runbooks of more than one are shown. */
export function runbookStatusMessage(request: string, runbooks: readonly RunbookHealth[]): Message {
  const groups = byHost(runbooks);
  const grouped = groups.length > 1;
  const blocks: Block[] = [section(`*${escape(request)}* — ${runbooks.length} runbook${runbooks.length === 1 ? '' : 's'}${grouped ? ` on ${groups.length} hosts` : ''}`)];
  let shown = 0;
  for (const [host, members] of groups) {
    // A host heading takes a block too: together they stay within the runbooks' share of Slack's 50.
    if (blocks.length >= MAX_RUNBOOK_BLOCKS) break;
    if (grouped) blocks.push(context(host === undefined ? '*any host* (runs wherever Lifeboat is started)' : `:desktop_computer: *${escape(host)}*`));
    for (const h of members) {
      if (blocks.length > MAX_RUNBOOK_BLOCKS) break;
      blocks.push(section(headline(h), h.facts.map((f) => `*${f.label}*\n${escape(f.value)}`)));
      shown++;
    }
  }
  if (runbooks.length > shown) blocks.push(context(`… and ${runbooks.length - shown} more: \`/backup status <runbook>\` shows one`));
  const states = runbooks.map((h) => `${h.name} ${h.state}`).join(', ');
  return { text: `${request}: ${states}`, blocks };
}

/** Runbooks by the host they name, hosts by name and `any host` last; each group in the order given. */
function byHost(runbooks: readonly RunbookHealth[]): [string | undefined, RunbookHealth[]][] {
  const groups = new Map<string | undefined, RunbookHealth[]>();
  for (const h of runbooks) groups.set(h.host, [...(groups.get(h.host) ?? []), h]);
  return [...groups].sort(([a], [b]) => (a === undefined ? 1 : b === undefined ? -1 : a.localeCompare(b)));
}
