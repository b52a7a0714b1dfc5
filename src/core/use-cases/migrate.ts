/**
 * `migrate`: upgrade a repository (either tier) to the newest format in
 * place, under an exclusive lock: it re-seals what every other action reads.
 */
import { migrateRepository, type MigrateOutcome } from '../repo/migrate.js';
import type { Tier } from '../repo/open-repository.js';
import type { RunContext } from '../run-context.js';
import { resolveSecret } from '../runbook/secrets.js';
import { policies } from './policies.js';
import { recordedRun } from './recorded-run.js';

export async function migrate(input: RunContext & { tier: Tier }): Promise<MigrateOutcome & { location: string }> {
  const { value } = await recordedRun(policies.migrate, input, async (session) => {
    const { signal } = session.input;
    const stack = await session.lockedStack(input.tier);
    const password = await resolveSecret(input.runbook.repository.password, input.env);
    // Objects an earlier run left in staging were sealed the old way: they must land before the format switches.
    if (stack.staging) {
      await stack.staging.adoptLeftovers();
      await stack.staging.flush(signal);
    }
    const outcome = await migrateRepository(stack.backend, password, { signal, runbook: input.runbook.name });
    await stack.staging?.flush(signal);
    return { value: { ...outcome, location: stack.backend.location } };
  });
  return value;
}
