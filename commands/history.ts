import { ExitCode, formatBytes, formatDuration, formatTime } from '../src/core/index.js';
import { defineCommand } from './command.js';
import { rawArgs, str } from './support/args.js';

export const historyCommand = defineCommand({
  name: 'history',
  summary: 'Recent runs (all runbooks, or one)',
  options: {
    limit: { type: 'string', short: 'n', description: 'how many runs to show (default 20)', valueName: 'N' },
  },
  positionals: [{ name: 'runbook', description: 'only this runbook' }],
  schema: rawArgs.transform((r, ctx) => {
    const text = str(r.options.limit) ?? '20';
    const limit = Number(text);
    if (!/^\d+$/.test(text) || limit < 1 || limit > 10_000) ctx.addIssue({ code: 'custom', message: `--limit must be a whole number from 1 to 10000, got "${text}"` });
    return { runbook: r.positionals[0], limit };
  }),
  access: 'anyone',
  audited: false,
  async run(args, ctx) {
    const store = await ctx.store();
    const runs = await store.listRuns({ runbook: args.runbook, limit: args.limit });
    return {
      exitCode: ExitCode.ok,
      summary: `${runs.length} run${runs.length === 1 ? '' : 's'}${args.runbook ? ` of ${args.runbook}` : ''}`,
      table: {
        columns: [
          { key: 'started', header: 'STARTED' },
          { key: 'runbook', header: 'RUNBOOK' },
          { key: 'kind', header: 'KIND' },
          { key: 'status', header: 'STATUS' },
          { key: 'duration', header: 'DURATION', align: 'right' },
          { key: 'files', header: 'FILES', align: 'right' },
          { key: 'added', header: 'ADDED', align: 'right' },
          { key: 'by', header: 'BY' },
          { key: 'id', header: 'RUN' },
        ],
        rows: runs.map((r) => ({
          started: formatTime(r.startedAt),
          runbook: r.runbook,
          kind: r.kind,
          status: r.status,
          duration: formatDuration(r.durationMs),
          files: r.stats?.files !== undefined ? String(r.stats.files) : '—',
          added: formatBytes(r.stats?.bytesStored),
          by: `${r.actor.user} (${r.actor.face})`,
          id: r.id,
        })),
      },
      data: runs,
    };
  },
});
