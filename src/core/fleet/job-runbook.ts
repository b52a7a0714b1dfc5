/**
 * The runbook a fleet job carries, validated again on the agent with the
 * normal loader (checkRunbookText: schema, units, the name against the file
 * name), as if it were the file `<runbooks folder>/<name>.yaml` there: relative
 * paths and `${LIFEBOAT_HOME}` resolve on the agent, where the sources and
 * secrets are.
 *
 * An agent is sent the same runbooks every few minutes: a text it validated
 * before (same SHA-256, checked against the job's own hash by checkFleetJob;
 * same folders) gives the same runbook — checkRunbookText reads nothing but
 * its arguments — so the result is kept for the agent's life, and each job
 * gets its own copy. The YAML parse and schema check were ~8% of an agent's
 * CPU per tiny backup in the fleet bench.
 */
import path from 'node:path';
import { LifeboatError } from '../errors.js';
import { formatIssue } from '../runbook/issues.js';
import { checkRunbookText, type RunbookLocations } from '../runbook/load.js';
import type { Runbook } from '../runbook/types.js';
import { sha256Hex, type FleetJob } from './job.js';

/** Validated runbooks by text and places; a fleet's runbooks per host are a few dozen, the bound only caps a changing stream. */
const validated = new Map<string, Runbook>();
const KEEP_VALIDATED = 256;

/** Throws RUNBOOK_INVALID with every problem (as loading the file would), or when the text names another host than the job. */
export function runbookOfJob(job: FleetJob, jobId: string, where: RunbookLocations): Runbook {
  const file = path.resolve(where.cwd, where.runbooksDir, `${job.runbook.name}.yaml`);
  // Only what the check reads is in the key; a check against lifeboat.yaml's sinks (config) is never kept.
  // The text's own hash (a few microseconds), not the one the job claims: a hit is always for this very text.
  const key = where.config === undefined ? JSON.stringify([sha256Hex(job.runbook.content), file, where.home, where.cwd]) : undefined;
  const kept = key === undefined ? undefined : validated.get(key);
  if (kept) {
    if (kept.host !== job.runbook.host) throw otherHost(job, jobId, kept);
    return structuredClone(kept);
  }
  const runbook = checkedRunbookOfJob(job, jobId, file, where);
  if (key !== undefined) {
    if (validated.size >= KEEP_VALIDATED) validated.delete(validated.keys().next().value!);
    validated.set(key, structuredClone(runbook));
  }
  return runbook;
}

function checkedRunbookOfJob(job: FleetJob, jobId: string, file: string, where: RunbookLocations): Runbook {
  const check = checkRunbookText(job.runbook.content, file, where);
  if (!check.runbook) {
    throw new LifeboatError('RUNBOOK_INVALID', `Fleet job ${jobId}: the runbook it carries does not validate here:\n${check.issues.map(formatIssue).join('\n')}`, {
      details: { file, issues: check.issues, jobId },
    });
  }
  if (check.runbook.host !== job.runbook.host) throw otherHost(job, jobId, check.runbook);
  return check.runbook;
}

function otherHost(job: FleetJob, jobId: string, runbook: Runbook): LifeboatError {
  return new LifeboatError('RUNBOOK_INVALID', `Fleet job ${jobId}: queued for host ${job.runbook.host}, but the runbook it carries says host: ${runbook.host ?? '(none)'}`, {
    details: { jobId },
  });
}
