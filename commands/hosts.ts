import { ExitCode, formatAge, formatDuration, listRunbooks, localHostName, openHostRegistry, readHostsView, type HostRunbookView, type HostsView, type HostView } from '../src/core/index.js';
import { defineCommand } from './command.js';
import { rawArgs } from './support/args.js';

export type { HostRunbookView, HostsView, HostView } from '../src/core/index.js';

/** The fleet: each host's agent (version, last seen, state, running job) and its runbooks' last backups. */
export const hostsCommand = defineCommand({
  name: 'hosts',
  summary: 'The fleet: each host’s agent (version, last seen, state, running job) and its runbooks’ last backups',
  description:
    'Hosts are the names agents register under (`lifeboat agent --host`) and the names runbooks give in `host:`. ' +
    'A host is lost when its agent has not sent a heartbeat for 60 s; never seen when runbooks name it but no agent reported for it. ' +
    'With the JSON store there are no agents: this machine is the one host and runs every runbook.',
  options: {},
  positionals: [],
  schema: rawArgs.transform(() => ({})),
  access: 'anyone',
  audited: false,
  async run(_args, ctx) {
    const runbooks = await listRunbooks({ runbooksDir: ctx.runbooksDir, home: ctx.home, cwd: ctx.cwd });
    const store = await ctx.store();
    const registry = await openHostRegistry({ config: ctx.config, env: ctx.env, home: ctx.home });
    try {
      const view = await readHostsView({ runbooks, store, clock: ctx.clock, registry, here: localHostName(ctx.env) });
      const now = ctx.clock.now();
      return {
        exitCode: ExitCode.ok,
        summary: summaryOf(view),
        table: {
          columns: [
            { key: 'host', header: 'HOST' },
            { key: 'state', header: 'STATE' },
            { key: 'seen', header: 'LAST SEEN' },
            { key: 'version', header: 'VERSION' },
            { key: 'running', header: 'RUNNING' },
            { key: 'runbook', header: 'RUNBOOK' },
            { key: 'backup', header: 'LAST BACKUP' },
          ],
          rows: [...view.hosts.flatMap((h) => hostRows(h, now)), ...anyHostRows(view.anyHost)],
        },
        ...(view.store === 'json' ? { lines: ['The JSON store has no agents: this machine runs every runbook. A fleet shares a PostgreSQL store (store.url in lifeboat.yaml, or LIFEBOAT_STORE_URL).'] } : {}),
        data: view,
      };
    } finally {
      await registry?.close();
    }
  },
});

function summaryOf(view: HostsView): string {
  if (view.store === 'json') return `1 host, this machine (${view.hosts[0]?.name ?? '?'})`;
  const count = (state: HostView['state']) => view.hosts.filter((h) => h.state === state).length;
  const parts = [`${count('up')} up`, ...(count('lost') > 0 ? [`${count('lost')} lost`] : []), ...(count('never-seen') > 0 ? [`${count('never-seen')} never seen`] : [])];
  return `${view.hosts.length} host${view.hosts.length === 1 ? '' : 's'} (${parts.join(', ')})`;
}

const STATE_CELL: Record<HostView['state'], string> = { up: 'up', lost: 'LOST', 'never-seen': 'never seen', local: 'this machine' };

/** One row per runbook of the host (one with none), the host's own cells on its first row only. */
function hostRows(h: HostView, now: Date): Record<string, string>[] {
  const own = {
    host: h.name,
    state: STATE_CELL[h.state],
    seen: h.lastSeen === undefined ? (h.state === 'local' ? '—' : 'never') : formatAge(h.lastSeen, now),
    version: h.version ?? '—',
    running: h.runningJob === null ? '—' : `${h.runningJob.kind} of ${h.runningJob.runbook}`,
  };
  const blank = { host: '', state: '', seen: '', version: '', running: '' };
  if (h.runbooks.length === 0) return [{ ...own, runbook: '—', backup: '' }];
  return h.runbooks.map((r, i) => ({ ...(i === 0 ? own : blank), ...runbookCells(r) }));
}

function anyHostRows(runbooks: readonly HostRunbookView[]): Record<string, string>[] {
  return runbooks.map((r, i) => ({ host: i === 0 ? '(any host)' : '', state: '', seen: '', version: '', running: '', ...runbookCells(r) }));
}

function runbookCells(r: HostRunbookView): { runbook: string; backup: string } {
  const last = r.lastBackup;
  return { runbook: r.name, backup: last === undefined ? 'never' : `${last.status} ${formatDuration(last.ageMs)} ago` };
}
