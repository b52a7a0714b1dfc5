import { resolve } from 'node:path';
import { describeThawOutcome, estimateRestore, ExitCode, formatBytes, formatDuration, restore, shortId } from '../src/core/index.js';
import { defineCommand } from './command.js';
import { bool, rawArgs, str } from './support/args.js';
import { loadRunbookArg } from './support/runbook-arg.js';
import { runContextFor } from './support/run-context.js';

export const restoreCommand = defineCommand({
  name: 'restore',
  summary: 'Restore a snapshot (or a path in it) into a folder',
  description:
    'Restores contents, modes, mtimes, symlinks and empty folders; every blob is verified as it is read. Paths that would escape the target are refused. A damaged file is named and the rest restored (exit 3). With --tier cold the snapshot comes from the cold repository: archived packs are thawed first (S3 RestoreObject with the runbook\'s retrieval tier and thawDays), with progress, until all are readable or the thaw deadline passes (exit 1; the requests stay, so a re-run continues without paying again). --estimate prints the thaw time, transfer time, total RTO and retrieval cost without doing anything.',
  options: {
    target: { type: 'string', short: 't', description: 'folder to restore into (created if missing)', valueName: 'DIR' },
    path: { type: 'string', description: 'restore only this path inside the snapshot, e.g. uploads/2024', valueName: 'P' },
    tier: { type: 'string', description: 'repository to restore from: hot (default) or cold', valueName: 'TIER' },
    estimate: { type: 'boolean', description: 'with --tier cold: print what the restore would take and cost, and do nothing' },
    all: { type: 'boolean', description: 'the snapshot may be another runbook\'s in the same repository (default: only this runbook\'s own; latest is its own newest)' },
  },
  positionals: [
    { name: 'runbook', description: 'runbook name or path to a YAML file', required: true },
    { name: 'snapshot', description: 'snapshot id or prefix (default: latest)' },
  ],
  schema: rawArgs
    .refine((r) => r.options.estimate === true || (typeof r.options.target === 'string' && r.options.target !== ''), { message: '--target DIR is required' })
    .refine((r) => r.options.tier === undefined || r.options.tier === 'hot' || r.options.tier === 'cold', { message: '--tier must be hot or cold' })
    .refine((r) => r.options.estimate !== true || r.options.tier === 'cold', { message: '--estimate needs --tier cold (a hot restore needs no thaw; restore-drill measures it)' })
    .transform((r) => ({
      runbook: r.positionals[0]!,
      snapshot: r.positionals[1] ?? 'latest',
      target: str(r.options.target) ?? '',
      path: str(r.options.path),
      tier: r.options.tier === 'cold' ? ('cold' as const) : ('hot' as const),
      estimate: bool(r.options.estimate),
      all: bool(r.options.all),
    })),
  access: 'drill',
  runbookOf: (a) => a.runbook,
  async run(args, ctx) {
    const runbook = await loadRunbookArg(args.runbook, ctx);
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
    const { snapshot, outcome: out, thaw, durationMs } = await restore({ ...run, snapshot: args.snapshot, all: args.all, target, subPath: args.path, tier: args.tier });
    const lines = out.failed.map((f) => `damaged: ${f.path}: ${f.error}`);
    if (thaw !== undefined) lines.unshift(describeThawOutcome(thaw));
    return {
      exitCode: out.failed.length > 0 ? ExitCode.partial : ExitCode.ok,
      summary: `${out.failed.length > 0 ? 'partly restored' : 'restored'} snapshot ${shortId(snapshot.id)} to ${target}: ${out.files} files, ${out.dirs} folders, ${out.symlinks} symlinks, ${formatBytes(out.bytes)} in ${formatDuration(durationMs)}${out.failed.length > 0 ? `; ${out.failed.length} failed` : ''}`,
      lines,
      data: { snapshot: snapshot.id, target, tier: args.tier, ...out, ...(thaw === undefined ? {} : { thaw: { ...thaw.data, ...(thaw.trees === undefined ? {} : { trees: thaw.trees }) } }) },
    };
  },
});
