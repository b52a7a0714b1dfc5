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

/** `--tier hot|cold`: which of a runbook's repositories a command works on. */
export const tierOption = {
  tier: { type: 'string', description: 'repository: hot (default) or cold', valueName: 'TIER' },
} as const;

/** The raw shape with `--tier` checked; `tierOf` reads it. */
export const rawArgsWithTier = rawArgs.refine((r) => r.options.tier === undefined || r.options.tier === 'hot' || r.options.tier === 'cold', {
  message: '--tier must be hot or cold',
});

export const tierOf = (r: RawArgs): 'hot' | 'cold' => (r.options.tier === 'cold' ? 'cold' : 'hot');
