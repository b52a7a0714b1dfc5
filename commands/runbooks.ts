import { resolve } from 'node:path';
import { ExitCode, formatDuration, formatIssue, LifeboatError, listRunbooks, validateRunbookFile } from '../src/core/index.js';
import { defineCommand } from './command.js';
import { rawArgs } from './support/args.js';

export const runbooksCommand = defineCommand({
  name: 'runbooks',
  summary: 'List runbooks, or validate runbook files',
  description:
    '`runbooks list` shows every runbook in the runbooks folder with its sources, objectives and validity. `runbooks validate [files…]` checks files (default: all in the folder) and prints every problem as file:line:col; exit 2 when any is invalid.',
  options: {},
  positionals: [
    { name: 'action', description: 'list (default) or validate' },
    { name: 'files', description: 'YAML files to validate', variadic: true },
  ],
  schema: rawArgs.transform((r, ctx) => {
    const action = r.positionals[0] ?? 'list';
    if (action !== 'list' && action !== 'validate') ctx.addIssue({ code: 'custom', message: `unknown action "${action}" (expected list or validate)` });
    if (action === 'list' && r.positionals.length > 1) ctx.addIssue({ code: 'custom', message: '`runbooks list` takes no files' });
    return { action: action as 'list' | 'validate', files: r.positionals.slice(1) };
  }),
  access: 'anyone',
  audited: false,
  async run(args, ctx) {
    // With lifeboat.yaml, a route to a sink it does not define is a problem too (naming both files).
    const locations = { runbooksDir: ctx.runbooksDir, home: ctx.home, cwd: ctx.cwd, ...(ctx.config ? { config: ctx.config } : {}) };
    if (args.action === 'list') {
      const entries = await listRunbooks(locations);
      const invalid = entries.filter((e) => !e.runbook);
      return {
        exitCode: invalid.length > 0 ? ExitCode.usage : ExitCode.ok,
        summary: `${entries.length} runbook${entries.length === 1 ? '' : 's'} in ${resolve(ctx.cwd, ctx.runbooksDir)}${invalid.length > 0 ? `, ${invalid.length} invalid` : ''}`,
        table: {
          columns: [
            { key: 'name', header: 'RUNBOOK' },
            { key: 'sources', header: 'SOURCES' },
            { key: 'repository', header: 'REPOSITORY' },
            { key: 'rpo', header: 'RPO', align: 'right' },
            { key: 'rto', header: 'RTO', align: 'right' },
            { key: 'valid', header: 'VALID' },
          ],
          rows: entries.map((e) => ({
            name: e.name,
            sources: e.runbook ? e.runbook.sources.map((s) => s.name).join(', ') : '—',
            repository: e.runbook?.repository.hot.url ?? '—',
            rpo: e.runbook ? formatDuration(e.runbook.objectives.rpoMs) : '—',
            rto: e.runbook ? formatDuration(e.runbook.objectives.rtoMs) : '—',
            valid: e.runbook ? 'yes' : `no (${e.issues.length} problem${e.issues.length === 1 ? '' : 's'})`,
          })),
        },
        lines: invalid.flatMap((e) => e.issues.map(formatIssue)),
        data: entries.map((e) => ({ name: e.name, file: e.file, valid: !!e.runbook, issues: e.issues })),
      };
    }
    const files = args.files.length > 0 ? args.files.map((f) => resolve(ctx.cwd, f)) : (await listRunbooks(locations)).map((e) => e.file);
    if (files.length === 0) throw new LifeboatError('USAGE', `no runbook files to validate in ${resolve(ctx.cwd, ctx.runbooksDir)}`);
    const checks = await Promise.all(files.map((f) => validateRunbookFile(f, locations)));
    const bad = checks.filter((c) => c.issues.length > 0);
    return {
      exitCode: bad.length > 0 ? ExitCode.usage : ExitCode.ok,
      summary: bad.length > 0 ? `${bad.length} of ${checks.length} runbook file(s) invalid` : `${checks.length} runbook file(s) valid`,
      lines: bad.flatMap((c) => c.issues.map(formatIssue)),
      data: checks.map((c) => ({ file: c.file, valid: c.issues.length === 0, issues: c.issues })),
    };
  },
});
