/**
 * Rollback and duplication (issue 14, item 4): check reports two snapshot
 * files holding the same record and a snapshot older than its parent, and
 * retention decides over distinct backups, not files. The files are made
 * with the key (a copy under a valid name cannot be made without it): what a
 * writer bug, an old tool or a restored-from-backup bucket can leave.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../src/core/backends/memory-backend.js';
import { checkRepository } from '../../../src/core/repo/checker.js';
import { Repository } from '../../../src/core/repo/repository.js';
import type { Snapshot } from '../../../src/core/repo/snapshot.js';
import { forgetAndPrune } from '../../../src/core/pipeline/retention-stage.js';
import type { Runbook } from '../../../src/core/runbook/types.js';
import { TEST_PASSWORD, testScrypt } from '../../helpers/repo.js';

async function repoWithEmptySnapshots(times: string[]): Promise<{ repo: Repository; snaps: Snapshot[] }> {
  const repo = await Repository.init(new MemoryBackend(), TEST_PASSWORD, { scrypt: testScrypt });
  const root = await repo.saveTree({ nodes: [] }, () => true);
  await repo.flushTrees();
  await repo.flushIndex();
  const snaps: Snapshot[] = [];
  for (const time of times) {
    snaps.push(
      await repo.saveSnapshot({
        time,
        runbook: 'r',
        host: 'h',
        user: 'u',
        tree: root.id,
        parent: snaps.at(-1)?.id,
        sources: [],
        stats: { files: 0, dirs: 0, bytes: 0, bytesNew: 0, bytesStored: 0, blobsNew: 0 },
      }),
    );
  }
  return { repo, snaps };
}

describe('snapshot history in check', () => {
  it('names two files that hold one backup', async () => {
    const { repo, snaps } = await repoWithEmptySnapshots(['2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z']);
    const { id: _id, ...record } = snaps[1]!;
    const copy = await repo.saveSnapshot(record); // same record, sealed again: another name
    expect(copy.id).not.toBe(snaps[1]!.id);
    const out = await checkRepository({ repo });
    expect(out.errors).toHaveLength(1);
    expect(out.errors[0]).toMatch(/^snapshots [0-9a-f]{8}, [0-9a-f]{8} hold the same record: one backup stored as 2 files \(retention counts them once\)$/);
    for (const id of [snaps[1]!.id, copy.id]) expect(out.errors[0]).toContain(id.slice(0, 8));
  });

  it('names a snapshot older than its parent (a record put back in a newer one\'s place)', async () => {
    const { repo, snaps } = await repoWithEmptySnapshots(['2026-01-05T00:00:00Z', '2026-01-01T00:00:00Z']);
    const out = await checkRepository({ repo });
    expect(out.errors).toEqual([
      `snapshot ${snaps[1]!.id.slice(0, 8)} (2026-01-01T00:00:00Z) is older than its parent ${snaps[0]!.id.slice(0, 8)} (2026-01-05T00:00:00Z): a record was rolled back or replaced`,
    ]);
  });

  it('retention counts distinct backups: two copies of an old one neither take kept slots nor survive its forgetting', async () => {
    const { repo, snaps } = await repoWithEmptySnapshots(['2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z', '2026-01-03T00:00:00Z']);
    const { id: _id, ...oldest } = snaps[0]!;
    const copies = [await repo.saveSnapshot(oldest), await repo.saveSnapshot(oldest)];
    const runbook = { name: 'r', retention: { last: 2 }, schedule: undefined } as unknown as Runbook;
    const out = await forgetAndPrune(repo, runbook, { now: new Date('2026-01-04T00:00:00Z') });
    expect(out.plan.keep.map((k) => k.id).sort()).toEqual([snaps[1]!.id, snaps[2]!.id].sort());
    expect(out.forgotten).toBe(1);
    const left = (await repo.listSnapshots()).map((s) => s.id).sort();
    expect(left).toEqual([snaps[1]!.id, snaps[2]!.id].sort());
    for (const c of copies) expect(left).not.toContain(c.id);
  });
});
