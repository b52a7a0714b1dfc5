/**
 * `check`: verify a repository's structure (and with readData its packs)
 * under a shared lock. Every check is a verification on record (run kind
 * `verify`): the verify-failed alert and `history` see it.
 */
import { commandHint } from '../command-hint.js';
import { LifeboatError } from '../errors.js';
import { checkRepository, type CheckOutcome } from '../repo/checker.js';
import type { RunContext } from '../run-context.js';
import type { AlertRecord, RunRecord } from '../store/records.js';
import { policies } from './policies.js';
import { recordedRun, runOf } from './recorded-run.js';

export interface CheckInput extends RunContext {
  /** Fraction of packs to read and verify (0 = structure only, 1 = all). */
  readData: number;
}

export interface CheckResult {
  run: RunRecord;
  outcome: CheckOutcome;
  location: string;
  /** How many problems were found (0: clean). */
  problems: number;
  /** Every problem (damaged packs with the files they hold), then notes; the run's error quotes the first five. */
  lines: string[];
  alerts: AlertRecord[];
}

export async function check(input: CheckInput): Promise<CheckResult> {
  const done = await recordedRun(policies.check, input, async (session) => {
    const { recorder } = session;
    await recorder.startStage('verify');
    const { repo } = await session.openRepository();
    const outcome = await checkRepository({ repo, readData: input.readData, signal: session.input.signal });
    const report = checkReport(outcome, input.runbook.name);
    const counters = { problems: report.problems, snapshots: outcome.snapshots, packs: outcome.packs, packsRead: outcome.packsRead, bytesRead: outcome.bytesRead };
    const problem = report.problems > 0 ? new LifeboatError('REPO_CORRUPT', report.lines.slice(0, 5).join('; ') || `${report.problems} problem(s)`) : undefined;
    await recorder.finishStage('verify', problem ? 'failed' : 'succeeded', counters, problem);
    return { value: { outcome, location: repo.backend.location, ...report }, status: problem ? 'failed' : 'succeeded', error: problem };
  });
  return { ...done.value, run: runOf(done), alerts: done.alerts };
}

/** Errors and damaged packs (each with the files it holds), then what is worth knowing but no problem. */
function checkReport(out: CheckOutcome, runbook: string): { problems: number; lines: string[] } {
  const lines = [...out.errors];
  for (const d of out.damaged) {
    lines.push(...d.problems);
    if (d.affectedFiles.length > 0) lines.push(`  files affected by pack ${d.pack.slice(0, 8)}: ${d.affectedFiles.join(', ')}`);
  }
  if (out.unindexedPacks > 0) {
    lines.push(`note: ${out.unindexedPacks} pack(s) are in no index (an interrupted backup, or a lost index file): the next backup indexes them, prune reads their headers, ${commandHint('repair-index', runbook)} rebuilds the index`);
  }
  lines.push(...out.warnings.map((w) => `note: ${w}`));
  return { problems: out.errors.length + out.damaged.length, lines };
}
