/**
 * Before a snapshot may leave the hot repository, its cold copy must be
 * verifiably there: the snapshot record exists, every blob it references is
 * listed by an index file in cold, and every pack holding them exists with the
 * size the index says. Only metadata is read (index and snapshots are STANDARD
 * even in a cold repository); data packs are only stat-ed, never read — that
 * would need a thaw.
 *
 * `remote` must answer from the destination itself, not from local staging:
 * for a staged (S3) repository that is the stack under staging.
 */
import type { Backend } from '../backends/backend.js';
import { isLifeboatError } from '../errors.js';
import { decodeIndex } from '../repo/master-index.js';
import { mapLimit, type Repository } from '../repo/repository.js';

export interface CopyVerification {
  snapshotsChecked: number;
  blobsChecked: number;
  packsChecked: number;
  problems: string[];
}

export async function verifyColdCopy(
  cold: Repository,
  remote: Backend,
  input: { snapshots: readonly string[]; referenced: ReadonlySet<string>; signal?: AbortSignal },
): Promise<CopyVerification> {
  const problems: string[] = [];
  const snapshotNames = new Set<string>();
  for await (const info of remote.list('snapshots')) snapshotNames.add(info.name);
  for (const id of input.snapshots) if (!snapshotNames.has(id)) problems.push(`cold snapshot ${id.slice(0, 8)} is not in ${remote.location}`);

  // The index as the destination holds it (not this process's in-memory one).
  const indexNames: string[] = [];
  for await (const info of remote.list('index')) indexNames.push(info.name);
  const packsOf = new Map<string, string[]>();
  const packSize = new Map<string, number>();
  await mapLimit(indexNames, 8, async (name) => {
    for (const pack of decodeIndex(cold.key, await remote.load({ kind: 'index', name }), name).packs) {
      packSize.set(pack.id, pack.size);
      for (const b of pack.blobs) {
        const list = packsOf.get(b.id);
        if (list) list.push(pack.id);
        else packsOf.set(b.id, [pack.id]);
      }
    }
  });

  const needed = new Set<string>();
  let missing = 0;
  for (const id of input.referenced) {
    const packs = packsOf.get(id);
    if (!packs) {
      if (missing++ < 5) problems.push(`blob ${id.slice(0, 12)} is referenced by a copied snapshot but no index in ${remote.location} lists it`);
      continue;
    }
    for (const p of packs) needed.add(p);
  }
  if (missing > 5) problems.push(`… ${missing - 5} more unindexed blob(s)`);

  const packOk = new Map<string, boolean>();
  await mapLimit([...needed], 8, async (pack) => {
    if (input.signal?.aborted) return;
    try {
      const info = await remote.stat({ kind: 'data', name: pack });
      const want = packSize.get(pack);
      packOk.set(pack, info.size === want);
      if (info.size !== want) problems.push(`pack ${pack.slice(0, 12)} has ${info.size} bytes in ${remote.location}, its index says ${want}`);
    } catch (e) {
      if (!isLifeboatError(e, 'BACKEND_NOT_FOUND')) throw e;
      packOk.set(pack, false);
    }
  });
  // A blob is safe when at least one pack that holds it is there whole.
  let unbacked = 0;
  for (const id of input.referenced) {
    const packs = packsOf.get(id);
    if (packs && !packs.some((p) => packOk.get(p) === true)) {
      if (unbacked++ < 5) problems.push(`blob ${id.slice(0, 12)}: none of its packs (${packs.map((p) => p.slice(0, 12)).join(', ')}) is in ${remote.location} with the right size`);
    }
  }
  if (unbacked > 5) problems.push(`… ${unbacked - 5} more blob(s) without a whole pack`);
  return { snapshotsChecked: input.snapshots.length, blobsChecked: input.referenced.size, packsChecked: needed.size, problems };
}
