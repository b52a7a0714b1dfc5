import { describeWindow, displayPath, ExitCode, find, formatBytes, formatTime, parseSizeFilter, parseSnapshotWindow, parseWhen, shortId, type FindSighting } from '../src/core/index.js';
import { defineCommand } from './command.js';
import { bool, rawArgs, str } from './support/args.js';
import { count, snapshotRef } from './support/browse.js';
import { loadRunbookArg } from './support/runbook-arg.js';
import { runContextFor } from './support/run-context.js';

export const findFilesCommand = defineCommand({
  name: 'find',
  summary: 'Find which snapshots hold a file, and when it changed',
  description:
    'A glob on the path inside the snapshot: without a slash it matches the name in any folder ("app.yaml", "*.conf"); with one, the whole path from the source\'s name ("data/etc/**", "**/etc/*.conf"). Each matching path is shown in every snapshot searched that holds it, with its size and mtime and how it changed since the snapshot before (present, added, unchanged, changed, metadata, deleted, re-created). A path the newest snapshot searched no longer holds gets a line naming the last snapshot that did. Only the runbook\'s own snapshots are searched.',
  options: {
    snapshots: { type: 'string', description: 'which snapshots: all (default), N (the newest N), or "since D" (a date, 2026-12-01, or a duration back, 7d)', valueName: 'WHICH' },
    size: { type: 'string', description: 'files bigger (+1MiB or >1MiB) or smaller (<10KiB, or --size=-10KiB) than this in some snapshot', valueName: 'SIZE' },
    newer: { type: 'string', description: 'entries modified after this (a date, 2026-12-01, or a duration back, 3d) in some snapshot', valueName: 'WHEN' },
    'ignore-case': { type: 'boolean', short: 'i', description: 'match the pattern without regard to case' },
  },
  positionals: [
    { name: 'runbook', description: 'runbook name or path to a YAML file', required: true },
    { name: 'pattern', description: 'a glob: a name (app.yaml, "*.conf") or a path ("data/etc/**")', required: true },
  ],
  schema: rawArgs.transform((r) => ({
    runbook: r.positionals[0]!,
    pattern: r.positionals[1]!,
    snapshots: str(r.options.snapshots) ?? 'all',
    size: str(r.options.size),
    newer: str(r.options.newer),
    ignoreCase: bool(r.options['ignore-case']),
  })),
  access: 'anyone',
  runbookOf: (a) => a.runbook,
  audited: false,
  async run(args, ctx) {
    const now = ctx.clock.now();
    const window = parseSnapshotWindow(args.snapshots, now);
    const filters = {
      ...(args.size === undefined ? {} : { size: parseSizeFilter(args.size) }),
      ...(args.newer === undefined ? {} : { newer: parseWhen(args.newer, now, `--newer ${args.newer}`) }),
    };
    const runbook = await loadRunbookArg(args.runbook, ctx);
    const out = await find({ ...(await runContextFor(runbook, ctx)), pattern: args.pattern, ignoreCase: args.ignoreCase, window, filters });
    const newest = out.snapshots.at(-1);
    const holding = new Set(out.matches.flatMap((m) => m.sightings.filter((s) => s.entry).map((s) => s.snapshot)));
    const lines: string[] = [];
    const gone = out.matches.filter((m) => newest !== undefined && (m.sightings.at(-1)!.snapshot !== newest.id || m.sightings.at(-1)!.change === 'deleted'));
    for (const m of gone.slice(0, MAX_HINTS)) {
      const lastHeld = m.sightings.filter((s) => s.entry !== undefined).at(-1)!;
      lines.push(`${displayPath(m.path)} is not in the newest snapshot searched; last held by ${shortId(lastHeld.snapshot)} (${formatTime(lastHeld.time)}): lifeboat dump ${runbook.name} ${shortId(lastHeld.snapshot)} ${shellWord(m.path)} > FILE`);
    }
    if (gone.length > MAX_HINTS) lines.push(`… and ${count(gone.length - MAX_HINTS, 'more path')} no longer in the newest snapshot searched (all in the table)`);
    for (const u of out.unreadable) lines.push(`not searched (damaged listing): ${displayPath(u.path)} in ${shortId(u.snapshot)}`);
    const row = (path: string, s: FindSighting) => ({
      path: displayPath(path),
      snapshot: shortId(s.snapshot),
      taken: formatTime(s.time),
      change: s.change,
      type: s.entry?.type ?? '',
      size: s.entry?.size === undefined ? '' : formatBytes(s.entry.size),
      mtime: s.entry ? formatTime(s.entry.mtime) : '',
    });
    return {
      exitCode: out.unreadable.length > 0 ? ExitCode.partial : ExitCode.ok,
      summary:
        out.matches.length === 0
          ? `no path matches ${args.pattern} in ${describeWindow(window)} of ${runbook.name} (${count(out.snapshots.length, 'snapshot')} searched)`
          : `${count(out.matches.length, 'path')} matching ${args.pattern}, held by ${holding.size} of ${count(out.snapshots.length, 'snapshot')} searched (${describeWindow(window)} of ${runbook.name})`,
      lines,
      table: {
        columns: [
          { key: 'path', header: 'PATH' },
          { key: 'snapshot', header: 'SNAPSHOT' },
          { key: 'taken', header: 'TAKEN' },
          { key: 'change', header: 'CHANGE' },
          { key: 'type', header: 'TYPE' },
          { key: 'size', header: 'SIZE', align: 'right' },
          { key: 'mtime', header: 'MTIME' },
        ],
        rows: out.matches.flatMap((m) => m.sightings.map((s) => row(m.path, s))),
      },
      data: {
        pattern: args.pattern,
        snapshots: out.snapshots.map(snapshotRef),
        matches: out.matches,
        unreadable: out.unreadable,
      },
    };
  },
});

/** Hint lines for paths gone from the newest snapshot: a few to act on; the table has them all. */
const MAX_HINTS = 10;

/** A path as one shell word, for the hint: single-quoted when it needs quoting. */
function shellWord(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}
