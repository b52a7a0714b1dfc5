import { ExitCode } from '../src/core/errors.js';
import { formatBytes, formatTime } from '../src/core/format.js';
import { openRunbookRepository } from '../src/core/repo/open-repository.js';
import { shortId } from '../src/core/repo/snapshot.js';
import { defineCommand } from './command.js';
import { runbookOnlyArgs, runbookPositional } from './support/args.js';
import { loadRunbookArg } from './support/runbook-arg.js';

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
    const repo = await openRunbookRepository(runbook, { env: ctx.env, home: ctx.home, emit: ctx.emit });
    const snaps = await repo.listSnapshots();
    return {
      exitCode: ExitCode.ok,
      summary: `${snaps.length} snapshot${snaps.length === 1 ? '' : 's'} in ${repo.backend.location}`,
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
