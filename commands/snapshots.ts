import { ExitCode, formatBytes, formatTime, shortId, snapshots } from '../src/core/index.js';
import { defineCommand } from './command.js';
import { runbookOnlyArgs, runbookPositional } from './support/args.js';
import { loadRunbookArg } from './support/runbook-arg.js';
import { runContextFor } from './support/run-context.js';

export const snapshotsCommand = defineCommand({
  name: 'snapshots',
  summary: 'List the snapshots in a runbook\'s repository',
  options: {},
  positionals: [runbookPositional],
  schema: runbookOnlyArgs,
  access: 'anyone',
  audited: false,
  async run(args, ctx) {
    const runbook = await loadRunbookArg(args.runbook, ctx);
    const { location, snapshots: snaps } = await snapshots(await runContextFor(runbook, ctx));
    return {
      exitCode: ExitCode.ok,
      summary: `${snaps.length} snapshot${snaps.length === 1 ? '' : 's'} in ${location}`,
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
