/**
 * The runbook a fleet job carries, validated again on the agent with the
 * normal loader (checkRunbookText: schema, units, the name against the file
 * name), as if it were the file `<runbooks folder>/<name>.yaml` there: relative
 * paths and `${LIFEBOAT_HOME}` resolve on the agent, where the sources and
 * secrets are.
 */
import path from 'node:path';
import { LifeboatError } from '../errors.js';
import { formatIssue } from '../runbook/issues.js';
import { checkRunbookText, type RunbookLocations } from '../runbook/load.js';
import type { Runbook } from '../runbook/types.js';
import type { FleetJob } from './job.js';

/** Throws RUNBOOK_INVALID with every problem (as loading the file would), or when the text names another host than the job. */
export function runbookOfJob(job: FleetJob, jobId: string, where: RunbookLocations): Runbook {
  const file = path.resolve(where.cwd, where.runbooksDir, `${job.runbook.name}.yaml`);
  const check = checkRunbookText(job.runbook.content, file, where);
  if (!check.runbook) {
    throw new LifeboatError('RUNBOOK_INVALID', `Fleet job ${jobId}: the runbook it carries does not validate here:\n${check.issues.map(formatIssue).join('\n')}`, {
      details: { file, issues: check.issues, jobId },
    });
  }
  if (check.runbook.host !== job.runbook.host) {
    throw new LifeboatError('RUNBOOK_INVALID', `Fleet job ${jobId}: queued for host ${job.runbook.host}, but the runbook it carries says host: ${check.runbook.host ?? '(none)'}`, {
      details: { jobId },
    });
  }
  return check.runbook;
}
