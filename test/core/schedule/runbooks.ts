/** Runbooks with schedules for the scheduler tests, through the real loader (so the schema checks the cron strings). */
import { stringify } from 'yaml';
import { checkRunbookText, formatIssue } from '../../../src/core/runbook/index.js';
import type { Runbook } from '../../../src/core/runbook/types.js';

export interface ScheduleFields {
  backup?: string;
  verify?: string;
  drill?: string;
  tier?: string;
  timezone?: string;
}

/** A valid runbook `name` with `schedule` (omit for none) and `drill.announce` (e.g. "15m"). */
export function scheduledRunbook(name: string, schedule: ScheduleFields | undefined, options: { announce?: string } = {}): Runbook {
  const doc = {
    name,
    owner: '@lifeboat-tests',
    sources: [{ name: 'data', path: '/srv/data' }],
    repository: {
      hot: { url: `file:///srv/repos/${name}` },
      ...(schedule?.tier ? { cold: { url: `file:///srv/cold/${name}`, storageClass: 'DEEP_ARCHIVE', after: '30d' } } : {}),
      password: { env: 'LIFEBOAT_PASSWORD' },
    },
    ...(schedule ? { schedule } : {}),
    objectives: { rpo: '26h', rto: '15m' },
    ...(options.announce ? { drill: { announce: options.announce } } : {}),
  };
  const check = checkRunbookText(stringify(doc), `/srv/runbooks/${name}.yaml`, { runbooksDir: '/srv/runbooks', home: '/srv/state', cwd: '/srv' });
  if (!check.runbook) throw new Error(`test runbook ${name} does not validate:\n${check.issues.map(formatIssue).join('\n')}`);
  return check.runbook;
}
