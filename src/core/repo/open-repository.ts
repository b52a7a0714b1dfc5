/**
 * From a runbook to an open repository: pick the tier's URL, open its backend,
 * resolve the password reference (only now, and never logged).
 */
import { openBackend } from '../backends/open-backend.js';
import type { Runbook } from '../runbook/types.js';
import { resolveSecret } from '../runbook/secrets.js';
import type { ScryptParams } from './crypto.js';
import { Repository, type InitOptions } from './repository.js';

export type Tier = 'hot' | 'cold';

export interface RepositoryAccess {
  env: Readonly<Record<string, string | undefined>>;
  tier?: Tier;
}

function locationOf(runbook: Runbook, tier: Tier): string {
  if (tier === 'cold') {
    if (!runbook.repository.cold) throw new Error(`runbook ${runbook.name} has no cold repository`);
    return runbook.repository.cold.url;
  }
  return runbook.repository.hot.url;
}

/** Tests lower the KDF cost through this variable; production never sets it. */
function scryptFromEnv(env: RepositoryAccess['env']): ScryptParams | undefined {
  const n = env.LIFEBOAT_TEST_SCRYPT_N;
  return n ? { N: Number(n), r: 8, p: 1 } : undefined;
}

export async function initRunbookRepository(runbook: Runbook, access: RepositoryAccess, options: InitOptions = {}): Promise<Repository> {
  const backend = await openBackend(locationOf(runbook, access.tier ?? 'hot'));
  const password = await resolveSecret(runbook.repository.password, access.env);
  return Repository.init(backend, password, { scrypt: scryptFromEnv(access.env), ...options });
}

/** Open and load the index (every caller needs it). */
export async function openRunbookRepository(runbook: Runbook, access: RepositoryAccess): Promise<Repository> {
  const backend = await openBackend(locationOf(runbook, access.tier ?? 'hot'));
  const password = await resolveSecret(runbook.repository.password, access.env);
  const repo = await Repository.open(backend, password);
  await repo.loadIndex();
  return repo;
}
