import { resolve } from 'node:path';
import { ExitCode, findRunbookFile, formatDuration, formatIssue, isTemplateKind, LifeboatError, listRunbooks, TEMPLATE_KINDS, validateRunbookFile, writeNewRunbook } from '../src/core/index.js';
import { defineCommand } from './command.js';
import { bool, rawArgs, str } from './support/args.js';

const ACTIONS = ['list', 'validate', 'new'] as const;
type Action = (typeof ACTIONS)[number];

export const runbooksCommand = defineCommand({
  name: 'runbooks',
  summary: 'List runbooks, validate runbook files, or start a new one',
  description:
    '`runbooks list` shows every runbook in the runbooks folder with its sources, objectives and validity. ' +
    '`runbooks validate [runbooks…]` checks runbooks by name, by path or as shipped examples (`examples/postgres-to-s3`; default: all in the folder) and prints every problem as file:line:col; exit 2 when any is invalid. ' +
    `\`runbooks new NAME [--from ${TEMPLATE_KINDS.join('|')}] [--force]\` writes a commented, valid runbook to the runbooks folder as NAME.yaml (folder by default); it never replaces a file without --force.`,
  options: {
    from: { type: 'string', description: `with new: the kind of source to start from (${TEMPLATE_KINDS.join(', ')}; default folder)`, valueName: 'KIND' },
    force: { type: 'boolean', description: 'with new: replace an existing runbook file' },
  },
  positionals: [
    { name: 'action', description: 'list (default), validate or new' },
    { name: 'runbooks', description: 'validate: runbook names, paths or examples/NAME; new: the new runbook’s name', variadic: true },
  ],
  schema: rawArgs.transform((r, ctx) => {
    const action = r.positionals[0] ?? 'list';
    const rest = r.positionals.slice(1);
    if (!(ACTIONS as readonly string[]).includes(action)) ctx.addIssue({ code: 'custom', message: `unknown action "${action}" (expected ${ACTIONS.join(', ')})` });
    if (action === 'list' && rest.length > 0) ctx.addIssue({ code: 'custom', message: '`runbooks list` takes no runbooks' });
    if (action === 'new' && rest.length !== 1) ctx.addIssue({ code: 'custom', message: '`runbooks new` takes one name (e.g. runbooks new app-data --from postgres)' });
    const from = str(r.options.from);
    if (action !== 'new' && (from !== undefined || r.options.force !== undefined)) ctx.addIssue({ code: 'custom', message: '--from and --force go with `runbooks new`' });
    if (from !== undefined && !isTemplateKind(from)) ctx.addIssue({ code: 'custom', message: `--from must be one of ${TEMPLATE_KINDS.join(', ')} (got "${from}")` });
    return { action: action as Action, refs: rest, from: from !== undefined && isTemplateKind(from) ? from : 'folder', force: bool(r.options.force) };
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
    if (args.action === 'new') {
      const file = await writeNewRunbook({ name: args.refs[0]!, kind: args.from, runbooksDir: resolve(ctx.cwd, ctx.runbooksDir), force: args.force });
      return {
        exitCode: ExitCode.ok,
        summary: `Wrote ${file} (a ${args.from} runbook)`,
        lines: [`Edit it, then: lifeboat runbooks validate ${args.refs[0]!} && lifeboat init ${args.refs[0]!} && lifeboat backup ${args.refs[0]!}`],
        data: { file, name: args.refs[0], from: args.from },
      };
    }
    // Names, examples/NAME and paths, as every command takes them.
    const files = args.refs.length > 0 ? await Promise.all(args.refs.map((ref) => findRunbookFile(ref, locations))) : (await listRunbooks(locations)).map((e) => e.file);
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
