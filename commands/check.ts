import { check, ExitCode, formatBytes, parsePercentage } from '../src/core/index.js';
import { defineCommand } from './command.js';
import { rawArgs, runbookPositional, str } from './support/args.js';
import { loadRunbookArg } from './support/runbook-arg.js';
import { runContextFor } from './support/run-context.js';

export const checkCommand = defineCommand({
  name: 'check',
  summary: 'Verify a runbook\'s repository (structure, and with --read-data the data itself)',
  description:
    'Checks that every key, index and snapshot file is named by the hash of its content and opens as what it is; that every snapshot\'s trees load with names a restore accepts and every blob they use is indexed; that no two snapshot files hold the same backup and none is older than its parent; and that every indexed pack exists with its size. --read-data reads all packs (or P% of them) and verifies every blob; damaged packs are named with the files that use them.',
  options: {
    'read-data': {
      type: 'string',
      description: 'read and verify packs: all of them when alone, or a percentage (--read-data 10% or --read-data=10%)',
      valueName: 'P%',
      optionalValue: { whenAlone: '100%', looksLike: /^-?\d+(?:\.\d+)?%?$/ },
    },
  },
  positionals: [runbookPositional],
  schema: rawArgs.transform((r, ctx) => {
    const p = str(r.options['read-data']);
    let readData = 0;
    if (p !== undefined) {
      try {
        readData = parsePercentage(p);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: `--read-data: ${(e as Error).message}` });
      }
    }
    return { runbook: r.positionals[0]!, readData };
  }),
  access: 'anyone',
  async run(args, ctx) {
    const runbook = await loadRunbookArg(args.runbook, ctx);
    const { outcome: out, location, problems, lines } = await check({ ...(await runContextFor(runbook, ctx)), readData: args.readData });
    const read = args.readData > 0 ? `, read ${out.packsRead} packs (${formatBytes(out.bytesRead)})` : '';
    return {
      exitCode: problems > 0 ? ExitCode.failed : ExitCode.ok,
      summary: problems > 0
        ? `repository at ${location} has ${problems} problem(s)${read}`
        : `no errors: ${out.snapshots} snapshots, ${out.packs} packs, ${out.blobs} blobs, ${out.treesChecked} trees${read}`,
      // Alerts it raised are told by their own events (the CLI's ALERT line), not listed again here.
      lines,
      data: out,
    };
  },
});
