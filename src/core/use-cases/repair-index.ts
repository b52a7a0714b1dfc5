/**
 * `repair-index`: rebuild a repository's index (either tier) from the packs'
 * own headers, under an exclusive lock: it replaces what every other action reads.
 */
import type { Tier } from '../repo/open-repository.js';
import { repairIndex as rebuildIndex, type RepairIndexOutcome } from '../repo/repair-index.js';
import type { RunContext } from '../run-context.js';
import { policies } from './policies.js';
import { recordedRun } from './recorded-run.js';

export async function repairIndex(input: RunContext & { tier: Tier }): Promise<RepairIndexOutcome & { location: string }> {
  const { value } = await recordedRun(policies.repairIndex, input, async (session) => {
    const { signal } = session.input;
    const { repo, staging } = await session.openRepository(input.tier);
    const outcome = await rebuildIndex(repo, { signal });
    await staging?.flush(signal);
    return { value: { ...outcome, location: repo.backend.location } };
  });
  return value;
}
