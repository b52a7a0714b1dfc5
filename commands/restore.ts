import { resolve } from 'node:path';
import { describeThawOutcome, estimateRestore, ExitCode, findCopy, formatBytes, formatDuration, overwritePolicies, restore, runbookForCopy, shortId, type OverwritePolicy, type RestoreChange } from '../src/core/index.js';
import { defineCommand } from './command.js';
import { bool, rawArgs, str } from './support/args.js';
import { loadRunbookArg } from './support/runbook-arg.js';
import { runContextFor } from './support/run-context.js';

export const restoreCommand = defineCommand({
  name: 'restore',
  summary: 'Restore a snapshot (or a path in it) into a folder',
  description:
    'Restores contents, modes, mtimes, symlinks and empty folders; every blob is verified as it is read. Paths that would escape the target are refused. The snapshot is the runbook\'s own (latest: its own newest, even when other runbooks share the repository; --all lets an id name another runbook\'s). A target that already holds any path the restore writes is refused (exit 2, naming them) unless --overwrite says what to do with them: never (keep them), if-newer (replace when the snapshot\'s mtime is later), if-changed (replace when type, size or content differ; same-size files are hashed) or always; a replaced file is written beside it and renamed over it, so a crash leaves the old one or the new one. --dry-run lists what would be created, replaced, skipped and deleted and changes nothing. --include/--exclude restore only matching paths (globs on the path in the snapshot, e.g. data/2024/** or "*.log"). --delete removes what the target holds that the snapshot lacks (inside the target only; symlinks are removed, never followed). A damaged file is named and the rest restored (exit 3). With --tier cold the snapshot comes from the cold repository: archived packs are thawed first (S3 RestoreObject with the runbook\'s retrieval tier and thawDays), with progress, until all are readable or the thaw deadline passes (exit 1; the requests stay, so a re-run continues without paying again). --estimate prints the thaw time, transfer time, total RTO and retrieval cost without doing anything.',
  options: {
    target: { type: 'string', short: 't', description: 'folder to restore into (created if missing)', valueName: 'DIR', required: true, requiredUnless: 'estimate' },
    path: { type: 'string', description: 'restore only this path inside the snapshot, e.g. uploads/2024', valueName: 'P' },
    tier: { type: 'string', description: 'repository to restore from: hot (default) or cold', valueName: 'TIER' },
    estimate: { type: 'boolean', description: 'with --tier cold: print what the restore would take and cost, and do nothing' },
    overwrite: { type: 'string', description: 'what to do with paths the target already holds: never, if-newer, if-changed or always (required when there are any)', valueName: 'POLICY' },
    'dry-run': { type: 'boolean', short: 'n', description: 'list what would be created, replaced, skipped and deleted; change nothing' },
    include: { type: 'string', multiple: true, description: 'restore only paths matching this glob', valueName: 'GLOB' },
    exclude: { type: 'string', multiple: true, description: 'do not restore paths matching this glob', valueName: 'GLOB' },
    delete: { type: 'boolean', description: 'remove what the target holds that the snapshot lacks' },
    all: { type: 'boolean', description: 'the snapshot may be another runbook\'s in the same repository (default: only this runbook\'s own; latest is its own newest)' },
    copy: { type: 'string', description: 'restore from this one of repository.copies instead of hot (its own key and credentials)', valueName: 'NAME' },
  },
  positionals: [
    { name: 'runbook', description: 'runbook name or path to a YAML file', required: true },
    { name: 'snapshot', description: 'snapshot id or prefix (default: latest)' },
  ],
  schema: rawArgs
    .refine((r) => r.options.estimate === true || (typeof r.options.target === 'string' && r.options.target !== ''), { message: '--target DIR is required' })
    .refine((r) => r.options.tier === undefined || r.options.tier === 'hot' || r.options.tier === 'cold', { message: '--tier must be hot or cold' })
    .refine((r) => r.options.overwrite === undefined || overwritePolicies.includes(r.options.overwrite as OverwritePolicy), { message: `--overwrite must be one of ${overwritePolicies.join(', ')}` })
    .refine((r) => r.options.estimate !== true || r.options.tier === 'cold', { message: '--estimate needs --tier cold (a hot restore needs no thaw; restore-drill measures it)' })
    .refine((r) => r.options.copy === undefined || r.options.tier === undefined, { message: '--copy restores from that copy as it is: it takes no --tier' })
    .transform((r) => ({
      runbook: r.positionals[0]!,
      snapshot: r.positionals[1] ?? 'latest',
      target: str(r.options.target) ?? '',
      path: str(r.options.path),
      tier: r.options.tier === 'cold' ? ('cold' as const) : ('hot' as const),
      estimate: bool(r.options.estimate),
      all: bool(r.options.all),
      overwrite: str(r.options.overwrite) as OverwritePolicy | undefined,
      dryRun: bool(r.options['dry-run']),
      include: strings(r.options.include),
      exclude: strings(r.options.exclude),
      delete: bool(r.options.delete),
      ...(str(r.options.copy) === undefined ? {} : { copy: str(r.options.copy) }),
    })),
  access: 'drill',
  runbookOf: (a) => a.runbook,
  async run(args, ctx) {
    const loaded = await loadRunbookArg(args.runbook, ctx);
    // A copy is restored from as the runbook whose hot repository it is (src/core/copies/copy-runbook.ts).
    const runbook = args.copy === undefined ? loaded : runbookForCopy(loaded, findCopy(loaded, args.copy));
    const run = await runContextFor(runbook, ctx);
    if (args.estimate) {
      const { snapshot, forecast } = await estimateRestore({ ...run, snapshot: args.snapshot, all: args.all, subPath: args.path });
      return {
        exitCode: ExitCode.ok,
        summary: `estimate for restoring snapshot ${shortId(snapshot.id)} from the cold tier: ${formatDuration(forecast.totalMs)} (thaw ${formatDuration(forecast.thawMs)} + transfer ${formatDuration(forecast.transferMs)}), retrieval cost $${forecast.costUsd.toFixed(2)}`,
        lines: forecast.lines,
        data: { snapshot: snapshot.id, tier: 'cold', estimated: true, ...forecast },
      };
    }
    const target = resolve(ctx.cwd, args.target);
    const { snapshot, outcome: out, thaw, durationMs, notes } = await restore({
      ...run,
      snapshot: args.snapshot,
      all: args.all,
      target,
      subPath: args.path,
      tier: args.tier,
      overwrite: args.overwrite,
      patterns: { include: args.include, exclude: args.exclude },
      delete: args.delete,
      dryRun: args.dryRun,
    });
    const { preview, dryRun, ...outcome } = out;
    const changes = preview.changes.map(describeChange);
    // An include that matches nothing restores nothing, successfully: say so, with the form paths take.
    if (args.include.length > 0 && out.totalFiles === 0) {
      changes.unshift(`--include ${args.include.join(' ')} matched no file of snapshot ${shortId(snapshot.id)} (paths in a snapshot start with the source's name: ${snapshot.sources.map((s) => `${s.name}/…`).join(', ')})`);
    }
    if (dryRun) {
      const c = preview.counts;
      const refused = c.conflict > 0 ? `; without --overwrite it would be refused: ${c.conflict} path(s) already there` : '';
      return {
        exitCode: ExitCode.ok,
        summary: `dry run of restoring snapshot ${shortId(snapshot.id)} to ${target}: would create ${c.create}, replace ${c.replace}, skip ${c.skip}, delete ${c.delete}${c.refuse > 0 ? `, refuse ${c.refuse}` : ''}${refused}; nothing was changed`,
        lines: changes,
        data: { snapshot: snapshot.id, target, dryRun: true, counts: c, changes: preview.changes, ...(preview.policy === undefined ? {} : { overwrite: preview.policy }) },
      };
    }
    const lines = out.failed.map((f) => `damaged: ${f.path}: ${f.error}`);
    // What happened to what the target held is worth a line each: it was the operator's.
    lines.push(...changes.filter((line) => !line.startsWith('create ')));
    if (thaw !== undefined) lines.unshift(describeThawOutcome(thaw));
    lines.push(...notes.map((n) => `note: ${n}`));
    const touched = [
      out.replaced > 0 ? `${out.replaced} replaced` : '',
      out.skipped > 0 ? `${out.skipped} kept (--overwrite ${preview.policy})` : '',
      out.deleted > 0 ? `${out.deleted} deleted` : '',
    ].filter((t) => t !== '');
    return {
      exitCode: out.failed.length > 0 ? ExitCode.partial : ExitCode.ok,
      summary: `${out.failed.length > 0 ? 'partly restored' : 'restored'} snapshot ${shortId(snapshot.id)}${args.copy === undefined ? '' : ` from copy ${args.copy}`} to ${target}: ${out.files} files, ${out.dirs} folders, ${out.symlinks} symlinks, ${formatBytes(out.bytes)} in ${formatDuration(durationMs)}${touched.length > 0 ? `; ${touched.join(', ')}` : ''}${out.failed.length > 0 ? `; ${out.failed.length} failed` : ''}`,
      lines,
      data: {
        snapshot: snapshot.id,
        target,
        tier: args.tier,
        ...outcome,
        ...(preview.policy === undefined ? {} : { overwrite: preview.policy }),
        changes: preview.changes.filter((c) => c.action !== 'create'),
        ...(thaw === undefined ? {} : { thaw: { ...thaw.data, ...(thaw.trees === undefined ? {} : { trees: thaw.trees }) } }),
      },
    };
  },
});

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : []);

/** One line of a dry run (and of a restore, for what the target held): `replace data/a.txt (content differs)`. */
function describeChange(c: RestoreChange): string {
  return `${c.action.padEnd(8)} ${c.rel}${c.kind === 'dir' ? '/' : ''}${c.reason === undefined ? '' : ` (${c.reason})`}`;
}
