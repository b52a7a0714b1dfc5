/** Which snapshots a runbook sees in a repository it shares (src/core/repo/runbook-snapshots.ts), as a pure selection. */
import { describe, expect, it } from 'vitest';
import { selectRunbookSnapshot } from '../../../src/core/repo/runbook-snapshots.js';
import type { Snapshot } from '../../../src/core/repo/snapshot.js';

const snap = (id: string, runbook: string, time: string): Snapshot => ({
  id: id.padEnd(64, '0'),
  time,
  runbook,
  host: 'h',
  user: 'u',
  tree: 'f'.repeat(64),
  sources: [],
  stats: { files: 0, dirs: 0, bytes: 0, bytesNew: 0, bytesStored: 0, blobsNew: 0 },
});

// Oldest first, as Repository.listSnapshots returns them; "photos" made the newest.
const all = [snap('aaaa1', 'docs', '2026-01-01T00:00:00Z'), snap('bbbb1', 'photos', '2026-01-02T00:00:00Z'), snap('aaaa2', 'docs', '2026-01-03T00:00:00Z'), snap('cccc1', 'photos', '2026-01-04T00:00:00Z')];
const where = 'file:///repo';

describe('selectRunbookSnapshot', () => {
  it('latest is the runbook\'s own newest, not the repository\'s newest', () => {
    expect(selectRunbookSnapshot(all, 'latest', { runbook: 'docs' }, where).id).toBe(all[2]!.id);
    expect(selectRunbookSnapshot(all, 'latest', { runbook: 'photos' }, where).id).toBe(all[3]!.id);
    expect(selectRunbookSnapshot(all, 'latest', { runbook: 'docs', all: true }, where).id).toBe(all[3]!.id);
  });

  it('a prefix is resolved among the runbook\'s own: one that is ambiguous in the repository is not within the runbook', () => {
    expect(selectRunbookSnapshot([...all, snap('aaaa3', 'photos', '2026-01-05T00:00:00Z')], 'aaaa2', { runbook: 'docs' }, where).id).toBe(all[2]!.id);
    expect(() => selectRunbookSnapshot(all, 'aaaa', { runbook: 'docs' }, where)).toThrow('snapshot prefix aaaa is ambiguous (2 snapshots of runbook docs match)');
  });

  it('another runbook\'s snapshot is refused with its owner named, and taken with all', () => {
    let caught: unknown;
    try {
      selectRunbookSnapshot(all, 'bbbb', { runbook: 'docs', foreignHint: 'pass --all to restore another runbook\'s snapshot' }, where);
    } catch (e) {
      caught = e;
    }
    expect(caught).toMatchObject({ code: 'USAGE', exitCode: 2, message: 'snapshot bbbb1000 belongs to runbook photos, not to docs; pass --all to restore another runbook\'s snapshot' });
    expect(selectRunbookSnapshot(all, 'bbbb', { runbook: 'docs', all: true }, where).id).toBe(all[1]!.id);
  });

  it('a runbook with no snapshots of its own says so, and what else the repository holds', () => {
    expect(() => selectRunbookSnapshot(all, 'latest', { runbook: 'mail' }, where)).toThrow(
      'the repository at file:///repo has no snapshots of runbook mail yet (it holds 4 of other runbooks: docs, photos)',
    );
    expect(() => selectRunbookSnapshot(all, 'dddd', { runbook: 'docs' }, where)).toThrow('no snapshot dddd of runbook docs in the repository at file:///repo');
  });
});
