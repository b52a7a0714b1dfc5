import { diff, displayPath, ExitCode, formatBytes, formatTime, shortId, type BrowseEntry, type DiffChange, type DiffTotals } from '../src/core/index.js';
import { defineCommand } from './command.js';
import { rawArgs } from './support/args.js';
import { snapshotRef } from './support/browse.js';
import { loadRunbookArg } from './support/runbook-arg.js';
import { runContextFor } from './support/run-context.js';

export const diffCommand = defineCommand({
  name: 'diff',
  summary: 'What changed between two snapshots (or a path in them)',
  description:
    'Lists every entry added, removed, changed (content, symlink target, or kind) or changed in metadata only (mode, owner, mtime), with sizes, then a summary line. Everything inside an added or removed folder is listed. A folder\'s own mtime is not compared (it moves with its entries). Both snapshots must be the runbook\'s own; "latest" names its newest.',
  options: {},
  positionals: [
    { name: 'runbook', description: 'runbook name or path to a YAML file', required: true },
    { name: 'from', description: 'the older snapshot: id prefix or latest', required: true },
    { name: 'to', description: 'the newer snapshot: id prefix or latest', required: true },
    { name: 'path', description: 'compare only this folder or file, e.g. data/etc' },
  ],
  schema: rawArgs.transform((r) => ({ runbook: r.positionals[0]!, from: r.positionals[1]!, to: r.positionals[2]!, path: r.positionals[3] })),
  access: 'anyone',
  runbookOf: (a) => a.runbook,
  audited: false,
  async run(args, ctx) {
    const runbook = await loadRunbookArg(args.runbook, ctx);
    const out = await diff({ ...(await runContextFor(runbook, ctx)), from: args.from, to: args.to, path: args.path });
    const t = out.totals;
    const where = out.path === '' ? '' : ` in ${displayPath(out.path)}`;
    const summary =
      out.changes.length === 0
        ? `no changes${where} between ${shortId(out.from.id)} (${formatTime(out.from.time)}) and ${shortId(out.to.id)} (${formatTime(out.to.time)})`
        : `${shortId(out.from.id)} (${formatTime(out.from.time)}) → ${shortId(out.to.id)} (${formatTime(out.to.time)})${where}: ${t.added.count} added (${formatBytes(t.added.bytes)}), ${t.removed.count} removed (${formatBytes(t.removed.bytes)}), ${t.changed.count} changed (${signed(t.changed)}), ${t.metadata.count} metadata only`;
    return {
      exitCode: ExitCode.ok,
      summary,
      table: {
        columns: [
          { key: 'change', header: 'CHANGE' },
          { key: 'path', header: 'PATH' },
          { key: 'size', header: 'SIZE', align: 'right' },
          { key: 'detail', header: 'DETAIL' },
        ],
        rows: out.changes.map((c) => ({ change: c.change, path: displayPath(c.path) + ((c.after ?? c.before)?.type === 'dir' ? '/' : ''), size: sizeOf(c), detail: detailOf(c) })),
      },
      data: { from: snapshotRef(out.from), to: snapshotRef(out.to), path: out.path, changes: out.changes, totals: out.totals },
    };
  },
});

const signed = (t: DiffTotals): string => (t.bytes < 0 ? `-${formatBytes(-t.bytes)}` : `+${formatBytes(t.bytes)}`);

function sizeOf(c: DiffChange): string {
  const s = (e: BrowseEntry | undefined) => (e?.size === undefined ? '' : formatBytes(e.size));
  if (c.change === 'changed' && c.before?.size !== undefined && c.after?.size !== undefined && c.before.size !== c.after.size) return `${s(c.before)} → ${s(c.after)}`;
  return s(c.after ?? c.before);
}

/** What changed, in a few words: the kind, a symlink's target, the metadata that moved. */
function detailOf(c: DiffChange): string {
  const { before: b, after: a } = c;
  if (c.change === 'added' || c.change === 'removed') {
    const e = (a ?? b)!;
    return e.type === 'symlink' ? `-> ${displayPath(e.target ?? '')}` : e.type === 'dir' ? 'folder' : '';
  }
  if (!a || !b) return '';
  if (a.type !== b.type) return `${b.type} → ${a.type}`;
  const parts: string[] = [];
  if (c.change === 'changed') parts.push(a.type === 'symlink' ? `-> ${displayPath(b.target ?? '')} → ${displayPath(a.target ?? '')}` : 'content');
  if (a.mode !== b.mode) parts.push(`mode ${b.mode} → ${a.mode}`);
  if (a.mtime !== b.mtime && a.type !== 'dir') parts.push(`mtime ${formatTime(b.mtime)} → ${formatTime(a.mtime)}`);
  if (c.change === 'metadata' && parts.length === 0) parts.push('owner');
  return parts.join(', ');
}
