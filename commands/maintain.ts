import { ExitCode, maintain, parseDuration } from '../src/core/index.js';
import { defineCommand } from './command.js';
import { rawArgs, runbookPositional, str } from './support/args.js';
import { loadRunbookArg } from './support/runbook-arg.js';
import { runContextFor } from './support/run-context.js';

export const maintainCommand = defineCommand({
  name: 'maintain',
  summary: 'Extend the Object Lock retention of everything kept snapshots use',
  description:
    'For each repository of the runbook with objectLock (hot, cold, each copy; only one copy with --copy), one after the other: every object the snapshots kept by the retention policy need (their snapshot files, packs, the index files listing those packs, key files, config) gets its retain-until date moved to now + objectLock.days when it would end within --within (default: a third of days). Nothing else is touched, so what only forgotten snapshots used runs out and a later prune deletes it. serve runs it daily (schedule.maintain). Safe to run again after an interruption.',
  options: {
    copy: { type: 'string', description: 'maintain only this one of repository.copies (default: hot, cold and every copy with objectLock)', valueName: 'NAME' },
    within: { type: 'string', description: 'extend retentions that end within this long (default: a third of objectLock.days)', valueName: 'DURATION' },
  },
  positionals: [runbookPositional],
  schema: rawArgs.transform((r, ctx) => {
    const text = str(r.options.within);
    let withinMs: number | undefined;
    if (text !== undefined) {
      try {
        withinMs = parseDuration(text);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: `--within: ${(e as Error).message}` });
      }
    }
    return { runbook: r.positionals[0]!, withinMs, copy: str(r.options.copy) };
  }),
  access: 'backup',
  runbookOf: (a) => a.runbook,
  async run(args, ctx) {
    const runbook = await loadRunbookArg(args.runbook, ctx);
    const out = await maintain({ ...(await runContextFor(runbook, ctx)), ...(args.withinMs === undefined ? {} : { withinMs: args.withinMs }), ...(args.copy === undefined ? {} : { copy: args.copy }) });
    const lines = out.tiers.map(
      (t) =>
        `${t.copy === undefined ? t.tier : `copy ${t.copy}`} ${t.location}: ${t.snapshotsKept} kept snapshot(s), ${t.objects} object(s) they need, ${t.extended} extended to ${t.until}` +
        (t.missingBlobs > 0 ? `; ${t.missingBlobs} blob(s) they use are in no index and could not be locked (run lifeboat check ${runbook.name})` : ''),
    );
    const extended = out.tiers.reduce((n, t) => n + t.extended, 0);
    return {
      exitCode: ExitCode.ok,
      summary: `maintained ${runbook.name}: ${extended} object(s) had their retention extended`,
      lines,
      data: out,
    };
  },
});
