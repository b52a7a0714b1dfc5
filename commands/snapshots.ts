import { ExitCode, formatBytes, formatTime, shortId, snapshots } from '../src/core/index.js';
import { defineCommand } from './command.js';
import { bool, rawArgs, runbookPositional } from './support/args.js';
import { loadRunbookArg } from './support/runbook-arg.js';
import { runContextFor } from './support/run-context.js';

export const snapshotsCommand = defineCommand({
  name: 'snapshots',
  summary: 'List a runbook\'s snapshots (--all: every runbook\'s in its repository)',
  description:
    'Several runbooks may share one repository; each snapshot records the runbook that made it. The listing shows this runbook\'s own snapshots, oldest first, and says how many other runbooks\' it left out; --all lists every snapshot in the repository.',
  options: {
    all: { type: 'boolean', description: 'list every runbook\'s snapshots in the repository, not only this runbook\'s' },
  },
  positionals: [runbookPositional],
  schema: rawArgs.transform((r) => ({ runbook: r.positionals[0]!, all: bool(r.options.all) })),
  access: 'anyone',
  audited: false,
  async run(args, ctx) {
    const runbook = await loadRunbookArg(args.runbook, ctx);
    const { location, snapshots: snaps, otherRunbooks } = await snapshots({ ...(await runContextFor(runbook, ctx)), all: args.all });
    const whose = args.all ? '' : ` of ${runbook.name}`;
    const others = otherRunbooks > 0 ? ` (${otherRunbooks} of other runbooks not shown; --all lists them)` : '';
    return {
      exitCode: ExitCode.ok,
      summary: `${snaps.length} snapshot${snaps.length === 1 ? '' : 's'}${whose} in ${location}${others}`,
      table: {
        columns: [
          { key: 'id', header: 'ID' },
          { key: 'time', header: 'TIME' },
          { key: 'runbook', header: 'RUNBOOK' },
          { key: 'host', header: 'HOST' },
          { key: 'files', header: 'FILES', align: 'right' },
          { key: 'size', header: 'SIZE', align: 'right' },
          { key: 'added', header: 'ADDED', align: 'right' },
          { key: 'sources', header: 'SOURCES' },
        ],
        rows: snaps.map((s) => ({
          id: shortId(s.id),
          time: formatTime(s.time),
          runbook: s.runbook,
          host: s.host,
          files: String(s.stats.files),
          size: formatBytes(s.stats.bytes),
          added: formatBytes(s.stats.bytesStored),
          sources: s.sources.map((x) => x.name).join(', '),
        })),
      },
      data: snaps,
    };
  },
});
