import { displayPath, ExitCode, formatBytes, formatTime, ls, modeString, shortId, type BrowseEntry } from '../src/core/index.js';
import { defineCommand } from './command.js';
import { bool, rawArgs } from './support/args.js';
import { count, looksLikeSnapshotRef, snapshotRef } from './support/browse.js';
import { loadRunbookArg } from './support/runbook-arg.js';
import { runContextFor } from './support/run-context.js';

export const lsCommand = defineCommand({
  name: 'ls',
  summary: 'List the files in a snapshot (or a folder of it)',
  description:
    'Paths inside a snapshot start with the source\'s name (data/etc/app.yaml). Without a snapshot, the runbook\'s latest; a second argument that is neither "latest" nor an id prefix (4+ hex digits) is taken as the path (ls app-data data/etc). Only the runbook\'s own snapshots are seen, also in a repository that several runbooks share. Names with control characters (a newline) are shown JSON-quoted.',
  options: {
    long: { type: 'boolean', short: 'l', description: 'mode, size and mtime of each entry' },
    recursive: { type: 'boolean', short: 'R', description: 'everything below the folder, not only its entries' },
  },
  positionals: [
    { name: 'runbook', description: 'runbook name or path to a YAML file', required: true },
    { name: 'snapshot', description: 'snapshot id or prefix (default: latest)' },
    { name: 'path', description: 'a folder or file inside the snapshot, e.g. data/etc (default: the root)' },
  ],
  schema: rawArgs.transform((r) => {
    const [runbook, second, third] = r.positionals;
    const secondIsSnapshot = second !== undefined && (third !== undefined || looksLikeSnapshotRef(second));
    return {
      runbook: runbook!,
      snapshot: secondIsSnapshot ? second : 'latest',
      path: secondIsSnapshot ? third : second,
      long: bool(r.options.long),
      recursive: bool(r.options.recursive),
    };
  }),
  access: 'anyone',
  runbookOf: (a) => a.runbook,
  audited: false,
  async run(args, ctx) {
    const runbook = await loadRunbookArg(args.runbook, ctx);
    const out = await ls({ ...(await runContextFor(runbook, ctx)), snapshot: args.snapshot, path: args.path, recursive: args.recursive });
    const shown = (e: BrowseEntry) => {
      const rel = out.path === '' ? e.path : e.path === out.path ? e.name : e.path.slice(out.path.length + 1);
      return displayPath(rel) + (e.type === 'dir' ? '/' : '') + (e.type === 'symlink' ? ` -> ${displayPath(e.target ?? '')}` : '');
    };
    const of = (t: BrowseEntry['type']) => out.entries.filter((e) => e.type === t).length;
    const bytes = out.entries.reduce((n, e) => n + (e.size ?? 0), 0);
    return {
      exitCode: out.unreadable.length > 0 ? ExitCode.partial : ExitCode.ok,
      summary: `${displayPath(out.path === '' ? '/' : out.path)} in snapshot ${shortId(out.snapshot.id)} (${formatTime(out.snapshot.time)}): ${count(out.entries.length, 'entry', 'entries')} (${count(of('file'), 'file')} of ${formatBytes(bytes)}, ${count(of('dir'), 'folder')}, ${count(of('symlink'), 'symlink')})`,
      lines: out.unreadable.map((p) => `unreadable folder (damaged listing): ${displayPath(p)}`),
      table: args.long
        ? {
            columns: [
              { key: 'mode', header: 'MODE' },
              { key: 'size', header: 'SIZE', align: 'right' },
              { key: 'mtime', header: 'MTIME' },
              { key: 'name', header: 'NAME' },
            ],
            rows: out.entries.map((e) => ({ mode: modeString(e.type, Number.parseInt(e.mode, 8)), size: e.size === undefined ? '' : formatBytes(e.size), mtime: formatTime(e.mtime), name: shown(e) })),
          }
        : { columns: [{ key: 'name', header: 'NAME' }], rows: out.entries.map((e) => ({ name: shown(e) })) },
      data: { snapshot: snapshotRef(out.snapshot), path: out.path, entries: out.entries, unreadable: out.unreadable },
    };
  },
});
