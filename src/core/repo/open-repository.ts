/**
 * From a runbook to an open repository: pick the tier's location, build the
 * backend stack, resolve the password reference (only now, never logged).
 *
 * A local folder is written directly. A remote repository (S3) is reached as
 *
 *   staging (local, durable) → metadata cache → retry ∘ concurrency ∘ bandwidth → S3
 *
 * so a backup keeps going into staging when the network misbehaves and ends
 * `transfer-pending` instead of losing anything when it stays down.
 */
import { join } from 'node:path';
import type { Backend } from '../backends/backend.js';
import { LocalBackend } from '../backends/local-backend.js';
import { metadataCacheFolder, repositoryUrlKey } from '../backends/cache-folder.js';
import { MetadataCache } from '../backends/metadata-cache.js';
import { isObjectLockBackend, type ObjectLockBackend } from '../backends/object-lock-backend.js';
import { openBackend } from '../backends/open-backend.js';
import type { RetryBackend } from '../backends/retry-backend.js';
import { StagingBackend } from '../backends/staging-backend.js';
import { wrapForTransfer } from '../backends/transfer-wrappers.js';
import { isLifeboatError, LifeboatError } from '../errors.js';
import { parseDuration } from '../runbook/units.js';
import type { EventSink } from '../events.js';
import type { RepositoryLocation, Runbook } from '../runbook/types.js';
import { resolveSecret } from '../runbook/secrets.js';
import type { ScryptParams } from './crypto.js';
import { Repository, type InitOptions } from './repository.js';
import { stagingLimitBytes } from './staging-limit.js';
import { mainThreadSentBytes } from './release-memory.js';

export type Tier = 'hot' | 'cold';

export interface RepositoryAccess {
  env: Readonly<Record<string, string | undefined>>;
  tier?: Tier;
  /** The state folder: staging and the metadata cache of remote repositories live here. */
  home?: string;
  emit?: EventSink;
  runId?: string;
}

/** The backend stack of one repository; `staging` and `retry` exist for remote ones. */
export interface RepositoryStack {
  backend: Backend;
  staging?: StagingBackend;
  retry?: RetryBackend;
  /** The version-aware layer of an S3 Object Lock repository (location.objectLock). */
  objectLock?: ObjectLockBackend;
}

export interface OpenedRepository extends RepositoryStack {
  repo: Repository;
}

function locationOf(runbook: Runbook, tier: Tier): RepositoryLocation {
  if (tier === 'cold') {
    if (!runbook.repository.cold) throw new Error(`runbook ${runbook.name} has no cold repository`);
    return runbook.repository.cold;
  }
  return runbook.repository.hot;
}

/**
 * Tests lower the KDF cost through this variable. It makes keys cheap to guess,
 * so it is refused (not ignored: a weak key must not be made quietly, nor a
 * strong one when the operator thinks otherwise) unless NODE_ENV is `test`.
 */
function scryptFromEnv(env: RepositoryAccess['env']): ScryptParams | undefined {
  const n = env.LIFEBOAT_TEST_SCRYPT_N;
  if (!n) return undefined;
  if (env.NODE_ENV !== 'test') {
    throw new LifeboatError('USAGE', 'LIFEBOAT_TEST_SCRYPT_N is set, which weakens the new repository key: it is for tests only (NODE_ENV=test); unset it');
  }
  return { N: Number(n), r: 8, p: 1 };
}

/** How long a remote may keep failing before a run gives up on it and ends transfer-pending. */
function retryBudgetMs(env: RepositoryAccess['env']): number | undefined {
  const text = env.LIFEBOAT_TRANSFER_RETRY_BUDGET;
  return text ? parseDuration(text) : undefined;
}

/**
 * Operator knob LIFEBOAT_S3_IDLE_TIMEOUT (e.g. `2m` for a link that pauses
 * long, `2s` in tests that inject a stall): how long an S3 request may move no
 * byte before it fails as retryable. Unset: S3Backend's default (30 s).
 */
function s3IdleTimeoutMs(env: RepositoryAccess['env']): number | undefined {
  const text = env.LIFEBOAT_S3_IDLE_TIMEOUT;
  if (!text) return undefined;
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (e) {
    throw new LifeboatError('USAGE', `LIFEBOAT_S3_IDLE_TIMEOUT: ${(e as Error).message}`, { details: { input: text } });
  }
  if (ms < 1_000) throw new LifeboatError('USAGE', `LIFEBOAT_S3_IDLE_TIMEOUT must be at least 1s (got "${text}")`, { details: { input: text } });
  return ms;
}

/**
 * A location with keys of its own (a copy at another provider or account)
 * does not use the SDK's standard chain; the keys are read only now.
 */
async function credentialsOf(location: RepositoryLocation, env: RepositoryAccess['env']): Promise<{ credentials?: { accessKeyId: string; secretAccessKey: string } }> {
  if (location.credentials === undefined) return {};
  return {
    credentials: {
      accessKeyId: await resolveSecret(location.credentials.accessKeyId, env, 'the S3 access key id'),
      secretAccessKey: await resolveSecret(location.credentials.secretAccessKey, env, 'the S3 secret access key'),
    },
  };
}

export async function openRepositoryStack(runbook: Runbook, access: RepositoryAccess): Promise<RepositoryStack> {
  const tier = access.tier ?? 'hot';
  const location = locationOf(runbook, tier);
  const idleTimeoutMs = s3IdleTimeoutMs(access.env);
  const raw = await openBackend(location.url, {
    location: { endpoint: location.endpoint, pathStyle: location.pathStyle, region: location.region, storageClass: location.storageClass, objectLock: location.objectLock },
    s3: { ...(idleTimeoutMs === undefined ? {} : { idleTimeoutMs }), ...(await credentialsOf(location, access.env)) },
  });
  // A backend whose objects are local files (Backend.localFile) is written directly: staging would only double the disk writes.
  const objectLock = isObjectLockBackend(raw) ? { objectLock: raw } : {};
  if (raw.localFile !== undefined || !access.home) return { backend: raw, ...objectLock };
  const retry = wrapForTransfer(raw, {
    concurrency: runbook.transfer.concurrency,
    bandwidthBytesPerSec: runbook.transfer.bandwidthBytesPerSec,
    retryBudgetMs: retryBudgetMs(access.env),
    emit: access.emit,
    runId: access.runId,
  });
  const key = repositoryUrlKey(location.url);
  const cache = new MetadataCache(retry, new LocalBackend(metadataCacheFolder(access.home, location.url)));
  const stagingFolder = join(access.home, 'staging', `${runbook.name}-${tier}-${key}`);
  const staging = new StagingBackend(cache, new LocalBackend(stagingFolder), {
    runbook: runbook.name,
    concurrency: runbook.transfer.concurrency,
    maxStagedBytes: await stagingLimitBytes(runbook.transfer.stagingLimit, stagingFolder),
    storageClass: location.storageClass,
    onBodyRead: mainThreadSentBytes,
  });
  return { backend: staging, staging, retry, ...objectLock };
}

export async function initRunbookRepository(runbook: Runbook, access: RepositoryAccess, options: InitOptions = {}): Promise<Repository> {
  const stack = await openRepositoryStack(runbook, access);
  const password = await resolveSecret(runbook.repository.password, access.env);
  const repo = await Repository.init(stack.backend, password, { scrypt: scryptFromEnv(access.env), ...options });
  await stack.staging?.flush();
  return repo;
}

/** Open and load the index (every caller needs it). */
export async function openRunbookRepository(runbook: Runbook, access: RepositoryAccess): Promise<Repository> {
  return (await openRunbookRepositoryStack(runbook, access)).repo;
}

export async function openRunbookRepositoryStack(runbook: Runbook, access: RepositoryAccess): Promise<OpenedRepository> {
  return openRepositoryOn(await openRepositoryStack(runbook, access), runbook, access.env);
}

/**
 * Open the repository on a stack already built. An action that locks the
 * repository first (src/core/use-cases/recorded-run.ts) loads the index under
 * its lock, so a prune that finished a moment before cannot leave it stale.
 */
export async function openRepositoryOn(stack: RepositoryStack, runbook: Runbook, env: RepositoryAccess['env']): Promise<OpenedRepository> {
  const repo = await unlockRepositoryKey(stack, runbook, env);
  await repo.loadIndex();
  return { ...stack, repo };
}

/**
 * Read the config and open a key with the runbook's password, without the
 * index. A caller that locks the repository does this first, so a wrong
 * password is refused before anything (a lock file) is written.
 */
export async function unlockRepositoryKey(stack: RepositoryStack, runbook: Runbook, env: RepositoryAccess['env']): Promise<Repository> {
  const password = await resolveSecret(runbook.repository.password, env);
  const repo = await Repository.open(stack.backend, password, { runbook: runbook.name });
  if (stack.objectLock) attachObjectLock(repo, stack.objectLock);
  return repo;
}

/** What the version-aware layer recovered goes into the repository's warnings (check and restore print them); prune asks it what waits. */
function attachObjectLock(repo: Repository, lock: ObjectLockBackend): void {
  repo.objectLock = lock;
  for (const message of lock.recoveryMessages()) repo.warnings.push(message);
  lock.onRecovery = (message) => repo.warnings.push(message);
}

/** No repository there yet: no config object, or not even the bucket. */
export function isRepositoryMissing(e: unknown): boolean {
  return isLifeboatError(e, 'REPO_NOT_FOUND') || (isLifeboatError(e, 'BACKEND_NOT_FOUND') && e.details?.bucketMissing === true);
}
