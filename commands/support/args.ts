/** Building blocks for command argument schemas. */
import { z } from 'zod';
import type { RawArgs } from '../command.js';

/** The raw shape every schema starts from; commands `.transform` it into their typed args. */
export const rawArgs: z.ZodType<RawArgs, RawArgs> = z.object({
  positionals: z.array(z.string()),
  options: z.record(z.string(), z.union([z.string(), z.boolean(), z.array(z.string()), z.undefined()])),
});

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
export const bool = (v: unknown): boolean => v === true;

/** The one positional most commands take. */
export const runbookPositional = { name: 'runbook', description: 'runbook name or path to a YAML file', required: true } as const;

/** Arguments of a command that takes only a runbook. */
export const runbookOnlyArgs = rawArgs.transform((r) => ({ runbook: r.positionals[0]! }));

/** The argument part of a command that takes one runbook and nothing else. */
export const runbookOnly = {
  options: {},
  positionals: [runbookPositional],
  schema: runbookOnlyArgs,
  runbookOf: (a: { runbook: string }) => a.runbook,
};
