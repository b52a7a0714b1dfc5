import { ExitCode, migrate, shortId } from '../src/core/index.js';
import { defineCommand } from './command.js';
import { rawArgsWithTier, runbookPositional, tierOf, tierOption } from './support/args.js';
import { loadRunbookArg } from './support/runbook-arg.js';
import { runContextFor } from './support/run-context.js';

export const migrateCommand = defineCommand({
  name: 'migrate',
  summary: 'Upgrade a runbook\'s repository to the newest format, in place',
  description:
    'Format 2 binds every encrypted object to its kind and authenticates the config. Migrate re-seals the small objects (index files, snapshots, this password\'s key file, config) and keeps data packs as they are (no pack is read or rewritten, so a cold repository needs no thaw). Every snapshot gets a new id. Holds an exclusive repository lock; interrupted anywhere, the repository still opens and restores, and running migrate again finishes. --tier cold migrates the cold repository.',
  options: tierOption,
  positionals: [runbookPositional],
  schema: rawArgsWithTier.transform((r) => ({ runbook: r.positionals[0]!, tier: tierOf(r) })),
  access: 'backup',
  runbookOf: (a) => a.runbook,
  async run(args, ctx) {
    const runbook = await loadRunbookArg(args.runbook, ctx);
    const { location, ...out } = await migrate({ ...(await runContextFor(runbook, ctx)), tier: args.tier });
    if (out.fromVersion >= out.toVersion) {
      const done = out.keyFileReplaced ? 'this password\'s key file is now bound to it (an earlier migrate stopped before that step)' : 'nothing to do';
      return { exitCode: ExitCode.ok, summary: `the repository at ${location} is already format ${out.fromVersion}: ${done}`, data: out };
    }
    return {
      exitCode: ExitCode.ok,
      summary: `migrated ${location} from format ${out.fromVersion} to ${out.toVersion}: ${out.indexFilesResealed} index file(s) and ${out.snapshots.length} snapshot(s) re-sealed, ${out.legacyPacks} pack(s) kept as they are`,
      lines: out.snapshots.map((s) => `snapshot ${shortId(s.from)} is now ${shortId(s.to)}`),
      data: out,
    };
  },
});
