/**
 * The thaw state machine (src/core/tier/thaw.ts, thaw-restore.ts) against the
 * Glacier test double in front of a real s3rver: cold repositories whose
 * content packs are GLACIER and whose folder-listing packs are STANDARD, read
 * through the same backend stack a restore uses; and the two-round fallback
 * when a folder-listing pack is archived after all.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LifeboatError, isLifeboatError } from '../../../src/core/errors.js';
import { openRunbookRepositoryStack, type OpenedRepository } from '../../../src/core/repo/open-repository.js';
import { archiveStateFromHead } from '../../../src/core/backends/s3-archive-state.js';
import { systemClock } from '../../../src/core/clock.js';
import { runDrill } from '../../../src/core/drill/restore-drill.js';
import { Redactor } from '../../../src/core/redaction/index.js';
import { restoreSnapshot } from '../../../src/core/repo/restorer.js';
import { planSnapshot } from '../../../src/core/repo/snapshot-plan.js';
import { MemoryStore } from '../../../src/core/store/memory-store.js';
import { planRestore, treePacksOf } from '../../../src/core/tier/restore-plan.js';
import { forecastColdRestore, thawForRestore } from '../../../src/core/tier/thaw-restore.js';
import { thawSettingsFor, type ThawSettings } from '../../../src/core/tier/thaw-settings.js';
import type { ThawProgress } from '../../../src/core/tier/thaw.js';
import { expectSameManifest, manifestOf } from '../../helpers/fs-manifest.js';
import { countTreeLoads } from '../../helpers/repo.js';
import { startGlacierProxy, type GlacierProxy } from '../../helpers/glacier-proxy.js';
import { s3rverCredentials, startS3rver, type RunningS3rver } from '../../helpers/s3rver.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';
import { restoreEnv, saveEnv, type SavedEnv } from '../../helpers/saved-env.js';
import { storageClasses } from '../../helpers/tier-runbook.js';
import { archiveAgain, makeColdRepo, packKeyOf, type ColdRepo } from './thaw-cold-repo.js';

const tempDir = useTempDirs('thaw');
const BUCKET = 'thaw';
const DAY_MS = 24 * 60 * 60 * 1000;
let server: RunningS3rver;
let proxy: GlacierProxy;
let savedCredentials: SavedEnv = {};

beforeAll(async () => {
  // The S3 client of in-process backends finds its credentials the standard way.
  savedCredentials = saveEnv('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY');
  process.env.AWS_ACCESS_KEY_ID = s3rverCredentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = s3rverCredentials.secretAccessKey;
  server = await startS3rver({ buckets: [BUCKET] });
  proxy = await startGlacierProxy(server.endpoint);
});

afterAll(async () => {
  await proxy?.stop();
  await server?.stop();
  // Test files may share a worker process (vitest.config.ts: isolate false): the next one gets the environment it had.
  restoreEnv(savedCredentials);
});

async function coldRepo(name: string, extra: { storageClass?: string } = {}): Promise<ColdRepo & { base: string }> {
  const base = await tempDir();
  return { ...(await makeColdRepo({ base, name, endpoint: proxy.endpoint, bucket: BUCKET, ...extra })), base };
}

/** A fresh reader (own state folder) of the cold repository, as a restore opens it. */
async function openCold(cold: ColdRepo & { base: string }, home = 'home-reader'): Promise<OpenedRepository> {
  const path = join(cold.base, home);
  return openRunbookRepositoryStack(cold.runbook, { env: { ...cold.env, LIFEBOAT_HOME: path }, tier: 'cold', home: path });
}

/** Settings with polls fast enough for a test (real ms: the double's thaws take 150–600 ms). */
function fastSettings(cold: ColdRepo, deadlineMs = 30_000): ThawSettings {
  const settings = thawSettingsFor(cold.runbook, {});
  return { ...settings, deadlineMs, poll: { firstPollMs: 20, maxPollMs: 80, factor: 2 } };
}

const keyOf = packKeyOf;
const restoresOf = (cold: ColdRepo) => proxy.restoreRequests().filter((r) => r.key.startsWith(`${cold.prefix}/`));
const getsOf = (key: string) => proxy.requests.filter((r) => r.operation === 'GetObject' && r.key === key);
/** Pack ids of the repository's folder-listing packs and of its content packs. */
function packsOf(repo: OpenedRepository['repo']): { trees: string[]; content: string[] } {
  const trees = treePacksOf(repo).map((p) => p.pack);
  return { trees, content: [...repo.index.packs.keys()].filter((p) => !trees.includes(p)).sort() };
}

describe('a cold repository in GLACIER behind the Glacier double', () => {
  it('keeps content packs archived and folder listings and metadata STANDARD; reading an archived pack fails at once with OBJECT_ARCHIVED, not retried', async () => {
    const cold = await coldRepo('archived-read');
    const { repo, backend, retry } = await openCold(cold);
    // Listing and the index need no thaw: the repository opened and knows its snapshot.
    expect((await repo.listSnapshots()).map((s) => s.id)).toEqual([cold.snapshot.id]);
    // At the store (HeadObject through the S3 client): content packs GLACIER, tree-only packs STANDARD.
    const { trees, content } = packsOf(repo);
    expect(trees.length).toBeGreaterThanOrEqual(1);
    expect(content.length).toBeGreaterThanOrEqual(4);
    const classes = await storageClasses(server.endpoint, BUCKET, cold.prefix);
    for (const p of content) expect(classes.get(`data/${p.slice(0, 2)}/${p}`), p).toBe('GLACIER');
    for (const p of trees) expect(classes.get(`data/${p.slice(0, 2)}/${p}`) ?? 'STANDARD', p).toBe('STANDARD');
    // Every data/ object is one of the two.
    expect([...classes.keys()].filter((k) => k.startsWith('data/')).length).toBe(trees.length + content.length);
    for (const p of trees) expect(await backend.archiveState?.({ kind: 'data', name: p })).toEqual({ storageClass: 'STANDARD', state: 'readable' });
    // A folder listing reads at once.
    expect((await repo.loadTree(cold.snapshot.tree)).nodes.map((n) => n.name)).toEqual(['data']);
    const pack = content[0];
    expect(await backend.archiveState?.({ kind: 'data', name: pack! })).toEqual({ storageClass: 'GLACIER', state: 'archived' });
    expect(await backend.archiveState?.({ kind: 'config', name: 'config' })).toEqual({ storageClass: 'STANDARD', state: 'readable' });

    const error = await backend.load({ kind: 'data', name: pack! }, { offset: 0, length: 16 }).catch((e: unknown) => e);
    expect(isLifeboatError(error, 'OBJECT_ARCHIVED'), String(error)).toBe(true);
    expect((error as LifeboatError).retryable).toBe(false);
    expect((error as LifeboatError).message).toMatch(/archived \(Glacier or Deep Archive\) and must be restored \(thawed\) before it can be read/);
    expect((error as LifeboatError).message).toContain(keyOf(cold, pack!));
    // One GET reached the store: the retry wrapper did not spend its budget on it.
    expect(getsOf(keyOf(cold, pack!))).toHaveLength(1);
    expect(retry?.retryStats().retries).toBe(0);
    // Nothing asked for a thaw.
    expect(restoresOf(cold)).toHaveLength(0);
    await backend.close();
  });

  it('thaws only the content packs, with the runbook\'s tier and days, in one round (folder listings are readable), then restores byte-identical', async () => {
    const cold = await coldRepo('thaw-restore');
    const { repo, backend } = await openCold(cold);
    const { trees, content } = packsOf(repo);
    const progress: { round: string; p: ThawProgress }[] = [];
    const thawed = await thawForRestore({ repo, backend, snapshot: cold.snapshot, settings: fastSettings(cold), onProgress: (round, p) => progress.push({ round, p }) });

    // Planning read the folder listings at once: no round of its own, and the plan names exactly the content packs.
    expect(thawed.trees).toBeUndefined();
    expect(thawed.plan.packs.map((p) => p.pack)).toEqual(content);
    expect(thawed.data.total).toBe(content.length);
    expect(thawed.data.requested).toBe(content.length);
    expect(thawed.data.polls).toBeGreaterThanOrEqual(1);

    // At the store: one RestoreObject per content pack, none for a folder listing, Bulk for 3 days as the runbook says, each answered 202.
    const requests = restoresOf(cold);
    expect(requests.map((r) => r.key).sort()).toEqual(content.map((p) => keyOf(cold, p)).sort());
    expect(requests.some((r) => trees.some((t) => r.key === keyOf(cold, t)))).toBe(false);
    expect(requests.every((r) => r.tier === 'Bulk' && r.days === 3 && r.status === 202)).toBe(true);
    for (const p of thawed.plan.packs) expect(proxy.thawStateOf(keyOf(cold, p.pack))).toBe('thawed');

    // Progress: packs ready of total, with the next poll while waiting and none at the end.
    const last = progress.filter((e) => e.round === 'data').at(-1)!.p;
    expect(last).toMatchObject({ ready: thawed.data.total, total: thawed.data.total });
    expect(last.nextPollMs).toBeUndefined();
    expect(progress.some((e) => e.round === 'data' && e.p.ready < e.p.total && e.p.nextPollMs !== undefined)).toBe(true);
    // One round only; backoff: 20 ms, doubling, capped at 80 ms.
    expect(progress.every((e) => e.round === 'data')).toBe(true);
    const waits = progress.filter((e) => e.p.nextPollMs !== undefined).map((e) => e.p.nextPollMs);
    expect(waits.length).toBeGreaterThanOrEqual(1);
    expect(waits).toEqual(waits.map((_, i) => Math.min(80, 20 * 2 ** i)));

    // The restore writes from the thaw's own plan: no folder listing is walked a second time.
    const treeLoads = countTreeLoads(repo);
    const target = join(cold.base, 'restored');
    const out = await restoreSnapshot({ repo, snapshot: cold.snapshot, plan: thawed.snapshotPlan, target });
    expect(treeLoads()).toBe(0);
    expect(out.failed).toEqual([]);
    expectSameManifest(await manifestOf(join(target, 'data')), await manifestOf(cold.data));
    await backend.close();
  });

  it('a cold drill walks the snapshot once: its thaw plan, restore and validation share one plan', async () => {
    const cold = await coldRepo('drill-walk');
    const opened = await openCold(cold);
    const treeLoads = countTreeLoads(opened.repo);
    const home = join(cold.base, 'home-drill');
    const env = { ...cold.env, LIFEBOAT_HOME: home, LIFEBOAT_THAW_POLL: '20ms', LIFEBOAT_THAW_POLL_MAX: '80ms' };
    const result = await runDrill({
      runbook: cold.runbook,
      store: new MemoryStore(),
      clock: systemClock,
      emit: () => undefined,
      actor: { face: 'test', user: 'thaw-test' },
      env,
      home,
      secrets: new Redactor(),
      id: 'drill-walk',
      tier: 'cold',
      openRepository: () => Promise.resolve(opened),
    });
    expect(result.problems).toEqual([]);
    expect(result.drill.verdict).not.toBe('failed');
    expect(result.restore?.files).toBe(4);
    // As many folder-listing loads as one plan makes (a drill used to walk three times: thaw plan, restore, validation).
    const reader = await openCold(cold, 'home-count');
    const onePlan = countTreeLoads(reader.repo);
    await planSnapshot(reader.repo, cold.snapshot);
    expect(onePlan()).toBeGreaterThan(1);
    expect(treeLoads()).toBe(onePlan());
    await reader.backend.close();
    await opened.backend.close();
  });

  it('a second restore while packs are thawing asks for nothing again (409 is "in progress"), and a deadline names what is still thawing', async () => {
    const cold = await coldRepo('rerun');
    const delay = proxy.thawDelayMs.Bulk;
    proxy.thawDelayMs.Bulk = 60 * 60_000; // an hour of real time: nothing finishes during the test
    try {
      const first = await openCold(cold, 'home-1');
      const contentPacks = packsOf(first.repo).content.length;
      const error = await thawForRestore({ repo: first.repo, backend: first.backend, snapshot: cold.snapshot, settings: fastSettings(cold, 150) }).catch((e: unknown) => e);
      expect(isLifeboatError(error, 'THAW_TIMEOUT'), String(error)).toBe(true);
      const timeout = error as LifeboatError;
      expect(timeout.exitCode).toBe(1);
      expect(restoresOf(cold)).toHaveLength(contentPacks);
      expect(timeout.message).toMatch(new RegExp(`^${contentPacks} of ${contentPacks} pack\\(s\\) still thawing after .* \\(deadline .*Bulk retrieval\\); the thaw requests stay in place`));
      expect(timeout.details).toMatchObject({ thawing: contentPacks, total: contentPacks });

      // Asking S3 directly for one of them answers 409, which the backend reads as "in progress".
      const key = restoresOf(cold)[0]!.key;
      const pack = key.slice(key.lastIndexOf('/') + 1);
      expect(await first.backend.requestThaw?.({ kind: 'data', name: pack }, { tier: 'Bulk', days: 3 })).toBe('in-progress');
      expect(proxy.restoreRequests().filter((r) => r.key === key).map((r) => r.status)).toEqual([202, 409]);
      await first.backend.close();

      // A re-run sees the packs thawing (HeadObject) and requests none of them again.
      const second = await openCold(cold, 'home-2');
      const again = await thawForRestore({ repo: second.repo, backend: second.backend, snapshot: cold.snapshot, settings: fastSettings(cold, 150) }).catch((e: unknown) => e);
      expect(isLifeboatError(again, 'THAW_TIMEOUT')).toBe(true);
      expect(restoresOf(cold)).toHaveLength(contentPacks + 1);

      // The thaws finish (an hour passes on the double's clock): the next run finds every pack thawed and asks for nothing.
      proxy.advance(60 * 60_000);
      proxy.thawDelayMs.Bulk = delay;
      const done = await thawForRestore({ repo: second.repo, backend: second.backend, snapshot: cold.snapshot, settings: fastSettings(cold) });
      expect(done.trees).toBeUndefined();
      expect(done.data).toMatchObject({ total: contentPacks, requested: 0, alreadyThawed: contentPacks, polls: 0 });
      expect(restoresOf(cold)).toHaveLength(contentPacks + 1);
      const target = join(cold.base, 'restored');
      expect((await restoreSnapshot({ repo: second.repo, snapshot: cold.snapshot, target })).failed).toEqual([]);
      expectSameManifest(await manifestOf(join(target, 'data')), await manifestOf(cold.data));
      await second.backend.close();
    } finally {
      proxy.thawDelayMs.Bulk = delay;
    }
  });

  it('restores already-thawed packs without a request; after thawDays they are archived again and thawed anew', async () => {
    const cold = await coldRepo('expiry');
    const first = await openCold(cold, 'home-1');
    const thawed = await thawForRestore({ repo: first.repo, backend: first.backend, snapshot: cold.snapshot, settings: fastSettings(cold) });
    expect(thawed.trees).toBeUndefined();
    const total = thawed.data.total;
    expect(restoresOf(cold)).toHaveLength(total);
    await first.backend.close();

    // Within thawDays: everything is readable, nothing is requested.
    const second = await openCold(cold, 'home-2');
    const again = await thawForRestore({ repo: second.repo, backend: second.backend, snapshot: cold.snapshot, settings: fastSettings(cold) });
    expect(again.trees).toBeUndefined();
    expect(again.data).toMatchObject({ requested: 0, inProgress: 0, alreadyThawed: thawed.data.total, polls: 0 });
    expect(restoresOf(cold)).toHaveLength(total);
    const [pack] = again.plan.packs;
    const state = await second.backend.archiveState?.({ kind: 'data', name: pack!.pack });
    expect(state?.state).toBe('thawed');
    expect(state?.expiresAt!.getTime()).toBeGreaterThan(proxy.now() + 2 * DAY_MS);
    const target = join(cold.base, 'restored');
    expect((await restoreSnapshot({ repo: second.repo, snapshot: cold.snapshot, target })).failed).toEqual([]);
    expectSameManifest(await manifestOf(join(target, 'data')), await manifestOf(cold.data));
    await second.backend.close();

    // Three days later (thawDays: 3) the copies are gone: archived again, unreadable, thawed anew on the next restore.
    proxy.advance(3 * DAY_MS + 60_000);
    const third = await openCold(cold, 'home-3');
    expect((await third.backend.archiveState?.({ kind: 'data', name: pack!.pack }))?.state).toBe('archived');
    const error = await third.backend.load({ kind: 'data', name: pack!.pack }, { offset: 0, length: 8 }).catch((e: unknown) => e);
    expect(isLifeboatError(error, 'OBJECT_ARCHIVED')).toBe(true);
    const renewed = await thawForRestore({ repo: third.repo, backend: third.backend, snapshot: cold.snapshot, settings: fastSettings(cold) });
    expect(renewed.data.requested).toBe(renewed.data.total);
    expect(restoresOf(cold).length).toBeGreaterThan(total);
    await third.backend.close();
  });

  it('cancels on the signal (CANCELLED, exit 130) and leaves the thaw requests in place', async () => {
    const cold = await coldRepo('cancel');
    const delay = proxy.thawDelayMs.Bulk;
    proxy.thawDelayMs.Bulk = 60 * 60_000;
    try {
      const { repo, backend } = await openCold(cold);
      const controller = new AbortController();
      const error = await thawForRestore({
        repo,
        backend,
        snapshot: cold.snapshot,
        settings: { ...fastSettings(cold), poll: { firstPollMs: 10_000, maxPollMs: 10_000, factor: 1 } },
        signal: controller.signal,
        // Cancel while it waits for the first poll.
        onProgress: (_round, p) => {
          if (p.nextPollMs !== undefined) controller.abort();
        },
      }).catch((e: unknown) => e);
      expect(isLifeboatError(error, 'CANCELLED'), String(error)).toBe(true);
      expect((error as LifeboatError).exitCode).toBe(130);
      expect((error as LifeboatError).message).toMatch(/thaw requests stay in place/);
      const requested = restoresOf(cold);
      expect(requested.length).toBeGreaterThanOrEqual(1);
      for (const r of requested) expect(proxy.thawStateOf(r.key)).toBe('thawing');
      await backend.close();
    } finally {
      proxy.thawDelayMs.Bulk = delay;
    }
  });

  it('packs in a class that needs no thaw (STANDARD_IA) are read at once, without any request', async () => {
    const cold = await coldRepo('infrequent', { storageClass: 'STANDARD_IA' });
    const { repo, backend } = await openCold(cold);
    const thawed = await thawForRestore({ repo, backend, snapshot: cold.snapshot, settings: fastSettings(cold) });
    expect(thawed.trees).toBeUndefined();
    expect(thawed.data).toMatchObject({ requested: 0, readable: thawed.data.total, polls: 0 });
    expect(restoresOf(cold)).toHaveLength(0);
    const target = join(cold.base, 'restored');
    expect((await restoreSnapshot({ repo, snapshot: cold.snapshot, target })).failed).toEqual([]);
    expectSameManifest(await manifestOf(join(target, 'data')), await manifestOf(cold.data));
    await backend.close();
  });

  it('DEEP_ARCHIVE with Standard retrieval for 1 day: the request carries them, the restore comes back whole', async () => {
    const base = await tempDir();
    const cold = { ...(await makeColdRepo({ base, name: 'deep', endpoint: proxy.endpoint, bucket: BUCKET, storageClass: 'DEEP_ARCHIVE', retrieval: 'Standard', thawDays: 1 })), base };
    const { repo, backend } = await openCold(cold);
    const { trees, content } = packsOf(repo);
    expect(await backend.archiveState?.({ kind: 'data', name: content[0]! })).toEqual({ storageClass: 'DEEP_ARCHIVE', state: 'archived' });
    for (const p of trees) expect(await backend.archiveState?.({ kind: 'data', name: p })).toEqual({ storageClass: 'STANDARD', state: 'readable' });
    const settings = fastSettings(cold);
    expect(settings.request).toEqual({ tier: 'Standard', days: 1 });
    await thawForRestore({ repo, backend, snapshot: cold.snapshot, settings });
    const requests = restoresOf(cold);
    expect(requests.map((r) => r.key).sort()).toEqual(content.map((p) => keyOf(cold, p)).sort());
    expect(requests.every((r) => r.tier === 'Standard' && r.days === 1 && r.status === 202)).toBe(true);
    const target = join(cold.base, 'restored');
    expect((await restoreSnapshot({ repo, snapshot: cold.snapshot, target })).failed).toEqual([]);
    expectSameManifest(await manifestOf(join(target, 'data')), await manifestOf(cold.data));
    await backend.close();
  });

  it('plans a sub-path and forecasts exactly, without a single RestoreObject call or content read', async () => {
    const cold = await coldRepo('forecast');
    const { repo, backend } = await openCold(cold);
    const { trees, content } = packsOf(repo);
    const before = proxy.requests.length;
    const settings = thawSettingsFor(cold.runbook, {});
    const forecast = await forecastColdRestore({ repo, backend, snapshot: cold.snapshot, settings, targetMs: cold.runbook.objectives.rtoMs });
    // The folder listings are readable: the plan is exact, the content packs alone, one thaw round.
    expect(forecast.treesArchived).toBe(false);
    expect(forecast.plan?.packs.map((p) => p.pack)).toEqual(content);
    expect(forecast).toMatchObject({ packs: content.length, archived: content.length, thawing: 0, thawed: 0, readable: 0 });
    expect(forecast.bytes).toBe(forecast.plan!.packBytes);
    expect(forecast.thawMs).toBe(forecast.thawEstimate.thawMs);
    expect(forecast.totalMs).toBe(forecast.thawMs + forecast.transferMs);
    const text = forecast.lines.join('\n');
    expect(text).toMatch(new RegExp(`^plan: ${content.length} pack\\(s\\), .* for 4 file\\(s\\), .* \\(exact: the folder listings are readable\\)$`, 'm'));
    expect(text).not.toMatch(/upper bound|two rounds/);
    expect(text).toMatch(/total RTO: .* \(target 15m00s: over\)/);
    // No thaw asked for; the only data/ objects read were folder-listing packs, each read answered.
    const seen = proxy.requests.slice(before);
    expect(seen.filter((r) => r.operation === 'RestoreObject')).toEqual([]);
    const gets = seen.filter((r) => r.operation === 'GetObject' && r.key.includes('/data/'));
    expect(gets.length).toBeGreaterThanOrEqual(1);
    // (ranged reads of the folder-listing packs: 206)
    expect(gets.map((r) => [r.key, r.status])).toEqual(gets.map((r) => [trees.map((t) => keyOf(cold, t)).find((k) => k === r.key) ?? `not a tree pack: ${r.key}`, 206]));

    // A sub-path is planned and forecast before any thaw: docs/ alone needs fewer packs than the whole snapshot.
    const docs = await forecastColdRestore({ repo, backend, snapshot: cold.snapshot, subPath: 'data/docs', settings });
    expect(docs.plan!.files).toBe(3);
    expect(docs.packs).toBeLessThan(forecast.packs);
    expect(docs.plan!.packs.every((p) => content.includes(p.pack))).toBe(true);
    expect(docs.plan).toEqual(await planRestore(repo, cold.snapshot, 'data/docs'));
    await expect(planRestore(repo, cold.snapshot, 'data/nope')).rejects.toThrow(/--path data\/nope: "data\/nope" is not in snapshot/);
    expect(restoresOf(cold)).toEqual([]);
    await backend.close();
  });

  it('a folder-listing pack archived after all (a staged leftover re-uploaded in the cold class): the forecast says so, the restore thaws it first, then the content, and completes', async () => {
    const cold = await coldRepo('tree-archived');
    const probe = await openCold(cold, 'home-probe');
    const { trees, content } = packsOf(probe.repo);
    // The pack holding the root folder listing: planning cannot start without it.
    const rootPack = probe.repo.index.lookup(cold.snapshot.tree)!.pack;
    await probe.backend.close();
    await archiveAgain(server.endpoint, BUCKET, keyOf(cold, rootPack));
    const classes = await storageClasses(server.endpoint, BUCKET, cold.prefix);
    expect(classes.get(`data/${rootPack.slice(0, 2)}/${rootPack}`)).toBe('GLACIER');

    const { repo, backend } = await openCold(cold);
    expect(await backend.archiveState?.({ kind: 'data', name: rootPack })).toEqual({ storageClass: 'GLACIER', state: 'archived' });
    // The forecast cannot plan: every pack counted (an upper bound, said so), two thaw rounds.
    const forecast = await forecastColdRestore({ repo, backend, snapshot: cold.snapshot, settings: thawSettingsFor(cold.runbook, {}) });
    expect(forecast.treesArchived).toBe(true);
    expect(forecast.plan).toBeUndefined();
    expect(forecast.packs).toBe(trees.length + content.length);
    expect(forecast).toMatchObject({ archived: content.length + 1, readable: trees.length - 1 });
    expect(forecast.thawMs).toBe(2 * forecast.thawEstimate.thawMs);
    expect(forecast.lines.join('\n')).toMatch(/an upper bound, every pack of the repository: folder listings are archived/);
    expect(forecast.lines.join('\n')).toMatch(/two rounds: folder listings first/);
    expect(restoresOf(cold)).toEqual([]);

    const progress: { round: string; p: ThawProgress }[] = [];
    const thawed = await thawForRestore({ repo, backend, snapshot: cold.snapshot, settings: fastSettings(cold), onProgress: (round, p) => progress.push({ round, p }) });
    // Round one: the folder-listing packs, of which only the archived one is asked for; round two: the content packs.
    expect(thawed.trees).toMatchObject({ total: trees.length, requested: 1, readable: trees.length - 1 });
    expect(thawed.plan.packs.map((p) => p.pack)).toEqual(content);
    expect(thawed.data).toMatchObject({ total: content.length, requested: content.length });
    expect(progress.findIndex((e) => e.round === 'data')).toBeGreaterThan(progress.findLastIndex((e) => e.round === 'trees'));
    const requests = restoresOf(cold);
    expect(requests[0]?.key).toBe(keyOf(cold, rootPack));
    expect(requests.slice(1).map((r) => r.key).sort()).toEqual(content.map((p) => keyOf(cold, p)).sort());

    const target = join(cold.base, 'restored');
    expect((await restoreSnapshot({ repo, snapshot: cold.snapshot, target })).failed).toEqual([]);
    expectSameManifest(await manifestOf(join(target, 'data')), await manifestOf(cold.data));
    await backend.close();
  });
});

describe('archiveStateFromHead', () => {
  it.each([
    ['no class (STANDARD)', undefined, undefined, undefined, { storageClass: 'STANDARD', state: 'readable' }],
    ['STANDARD_IA', 'STANDARD_IA', undefined, undefined, { storageClass: 'STANDARD_IA', state: 'readable' }],
    ['GLACIER_IR (instant retrieval)', 'GLACIER_IR', undefined, undefined, { storageClass: 'GLACIER_IR', state: 'readable' }],
    ['GLACIER, never restored', 'GLACIER', undefined, undefined, { storageClass: 'GLACIER', state: 'archived' }],
    ['DEEP_ARCHIVE, thawing', 'DEEP_ARCHIVE', 'ongoing-request="true"', undefined, { storageClass: 'DEEP_ARCHIVE', state: 'thawing' }],
    [
      'GLACIER, thawed',
      'GLACIER',
      'ongoing-request="false", expiry-date="Fri, 23 Dec 2012 00:00:00 GMT"',
      undefined,
      { storageClass: 'GLACIER', state: 'thawed', expiresAt: new Date('2012-12-23T00:00:00Z') },
    ],
    ['Intelligent-Tiering in its archive tier', 'INTELLIGENT_TIERING', undefined, 'ARCHIVE_ACCESS', { storageClass: 'INTELLIGENT_TIERING', state: 'archived' }],
  ] as const)('%s', (_label, storageClass, restore, archiveStatus, expected) => {
    expect(archiveStateFromHead(storageClass, restore, archiveStatus)).toEqual(expected);
  });
});
