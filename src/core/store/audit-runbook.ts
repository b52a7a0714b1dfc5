/**
 * The runbook an audit entry is about, as `lifeboat audit --runbook NAME`
 * finds it: a command names its runbook by name, by path
 * (`runbooks/app-data.yaml`) or as a shipped example (`examples/app-data`),
 * and a runbook's file is named after it, so the base name without `.yaml`
 * is the name in every case.
 */
import { basename } from 'node:path';

export function auditedRunbook(ref: string | undefined): string | undefined {
  if (ref === undefined || ref === '') return undefined;
  return basename(ref).replace(/\.ya?ml$/i, '');
}
