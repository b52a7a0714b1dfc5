/**
 * `host:` of a runbook: which agent runs it (issue 19). A host name as
 * `hostname` prints it, or a name given to `lifeboat agent --host`: one DNS
 * label or a dotted name, at most 63 characters so it fits a label, the
 * hosts table and a Prometheus label value without surprises.
 */
import { z } from 'zod';

const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const MAX_LENGTH = 63;

/** Why `text` is not a host name, or undefined when it is one. */
export function hostNameProblem(text: string): string | undefined {
  if (text.length === 0) return 'Empty host name (expected a host name, e.g. web-01)';
  if (text.length > MAX_LENGTH) return `Host name longer than ${MAX_LENGTH} characters: ${JSON.stringify(text)} (expected a short host name, e.g. web-01)`;
  if (!HOST_NAME.test(text)) {
    return `Not a host name: ${JSON.stringify(text)} (expected letters, digits, ".", "_" and "-", starting with a letter or digit, e.g. web-01)`;
  }
  return undefined;
}

/** The zod piece schema.ts documents as `host`. */
export const hostName = () =>
  z.string().superRefine((value, ctx) => {
    const problem = hostNameProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, input: value });
  });
