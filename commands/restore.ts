import { resolve } from 'node:path';
import { ExitCode, LifeboatError } from '../src/core/errors.js';
import { formatBytes, formatDuration } from '../src/core/format.js';
import { openRunbookRepository } from '../src/core/repo/open-repository.js';
import { withRepositoryLock } from '../src/core/repo/repo-lock.js';
import { restoreSnapshot } from '../src/core/repo/restorer.js';
import { shortId } from '../src/core/repo/snapshot.js';
import { defineCommand } from './command.js';
import { rawArgs, str } from './support/args.js';
import { loadRunbookArg } from './support/runbook-arg.js';

export const restoreCommand = defineCommand({
  name: 'restore',
  summary: 'Restore a snapshot (or a path in it) into a folder',
  description:
    'Restores contents, modes, mtimes, symlinks and empty folders; every blob is verified as it is read. Paths that would escape the target are refused. A damaged file is named and the rest restored (exit 3).',
  options: {
    target: { type: 'string', short: 't', description: 'folder to restore into (created if missing)', valueName: 'DIR' },
    path: { type: 'string', description: 'restore only this path inside the snapshot, e.g. uploads/2024', valueName: 'P' },
  },
  positionals: [
    { name: 'runbook', description: 'runbook name or path to a YAML file', required: true },
    { name: 'snapshot', description: 'snapshot id or prefix (default: latest)' },
  ],
  schema: rawArgs
    .refine((r) => typeof r.options.target === 'string' && r.options.target !== '', { message: '--target DIR is required' })
    .transform((r) => ({ runbook: r.positionals[0]!, snapshot: r.positionals[1] ?? 'latest', target: str(r.options.target)!, path: str(r.options.path) })),
  access: 'drill',
  runbookOf: (a) => a.runbook,
  async run(args, ctx) {
    const runbook = await loadRunbookArg(args.runbook, ctx);
    const repo = await openRunbookRepository(runbook, { env: ctx.env, home: ctx.home, emit: ctx.emit });
    const snapshot = await repo.findSnapshot(args.snapshot);
    const target = resolve(ctx.cwd, args.target);
    for (const source of runbook.sources) {
      if (source.kind === 'path' && (target === source.path || source.path.startsWith(target + '/'))) {
        throw new LifeboatError('USAGE', `refusing to restore into ${target}: it holds the live source ${source.name} (${source.path}); restore elsewhere and copy what you need`);
      }
    }
    const started = ctx.clock.monotonicMs();
    const out = await withRepositoryLock(repo.backend, { exclusive: false, purpose: `restore of ${runbook.name}` }, () =>
      restoreSnapshot({ repo, snapshot, target, subPath: args.path, signal: ctx.signal }),
    );
    const ms = ctx.clock.monotonicMs() - started;
    const lines = out.failed.map((f) => `damaged: ${f.path}: ${f.error}`);
    return {
      exitCode: out.failed.length > 0 ? ExitCode.partial : ExitCode.ok,
      summary: `${out.failed.length > 0 ? 'partly restored' : 'restored'} snapshot ${shortId(snapshot.id)} to ${target}: ${out.files} files, ${out.dirs} folders, ${out.symlinks} symlinks, ${formatBytes(out.bytes)} in ${formatDuration(ms)}${out.failed.length > 0 ? `; ${out.failed.length} failed` : ''}`,
      lines,
      data: { snapshot: snapshot.id, target, ...out },
    };
  },
});
