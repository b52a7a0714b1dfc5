import { ExitCode, repairIndex } from '../src/core/index.js';
import { defineCommand } from './command.js';
import { rawArgsWithTier, runbookPositional, tierOf, tierOption } from './support/args.js';
import { loadRunbookArg } from './support/runbook-arg.js';
import { runContextFor } from './support/run-context.js';

export const repairIndexCommand = defineCommand({
  name: 'repair-index',
  summary: 'Rebuild a repository\'s index from the packs\' own headers',
  description:
    'For when `check` reports index files that are damaged, or snapshots whose blobs are not in the index. Reads the (small, authenticated) header at the end of every pack, writes a new index from them, then removes the old index files. A pack whose header cannot be read keeps what a sound old index said of it; one that neither describes is left in place, not indexed, and named. Holds an exclusive repository lock; safe to interrupt and run again. --tier cold repairs the cold repository.',
  options: tierOption,
  positionals: [runbookPositional],
  schema: rawArgsWithTier.transform((r) => ({ runbook: r.positionals[0]!, tier: tierOf(r) })),
  access: 'backup',
  runbookOf: (a) => a.runbook,
  async run(args, ctx) {
    const runbook = await loadRunbookArg(args.runbook, ctx);
    const { location, ...out } = await repairIndex({ ...(await runContextFor(runbook, ctx)), tier: args.tier });
    const lines = out.unreadable.map((u) => `not indexed: ${u.problem}`);
    if (out.packsFromOldIndex > 0) lines.push(`${out.packsFromOldIndex} pack(s) with an unreadable header kept as a sound index file described them (\`check --read-data\` shows their damage)`);
    return {
      exitCode: out.unreadable.length > 0 ? ExitCode.partial : ExitCode.ok,
      summary: `rebuilt the index of ${location}: ${out.packs} packs, ${out.blobs} blobs in ${out.indexFilesWritten} new index file(s); removed ${out.indexFilesRemoved} old one(s)${out.damagedIndexFiles > 0 ? ` (${out.damagedIndexFiles} damaged)` : ''}`,
      lines,
      data: out,
    };
  },
});
