/** MasterIndex.add keeps what an index file says: one object per blob, with its pack; the first pack listing a blob is where lookups go. */
import { describe, expect, it } from 'vitest';
import { MasterIndex, type IndexedPack } from '../../../src/core/repo/master-index.js';

const id = (n: number) => n.toString(16).padStart(64, '0');
const blob = (n: number, over: Partial<IndexedPack['blobs'][number]> = {}): IndexedPack['blobs'][number] => ({
  id: id(n), type: n % 2 ? 'tree' : 'data', offset: n * 100, length: 90, rawLength: 200 + n, compressed: n % 3 === 0, ...over,
});

describe('MasterIndex', () => {
  it('adds every blob with its pack, fields exactly as listed; the first pack that lists a blob keeps it', () => {
    const idx = new MasterIndex();
    const a: IndexedPack = { id: id(1000), size: 5000, blobs: [blob(1), blob(2), blob(3)] };
    const b: IndexedPack = { id: id(2000), size: 7000, blobs: [blob(3, { offset: 9 }), blob(4)] };
    idx.add(a, 'index-a');
    idx.add(b);
    expect(idx.blobCount).toBe(4);
    expect(idx.lookup(id(2))).toStrictEqual({ ...blob(2), pack: id(1000) });
    expect(idx.lookup(id(3))).toStrictEqual({ ...blob(3), pack: id(1000) });
    expect(idx.blobsOf(id(2000))).toStrictEqual([{ ...blob(3, { offset: 9 }), pack: id(2000) }, { ...blob(4), pack: id(2000) }]);
    expect(idx.indexedPack(id(1000))).toStrictEqual(a);
    expect(idx.packs.get(id(1000))).toStrictEqual({ size: 5000, indexFile: 'index-a', legacy: undefined });
    expect([...idx.allEntries()]).toHaveLength(5);
    expect(idx.byType('tree').map((x) => x.id).sort()).toStrictEqual([id(1), id(3)]);
  });

  it('marks the blobs of a legacy pack legacy, and keeps a blob\'s own legacy flag otherwise', () => {
    const idx = new MasterIndex();
    idx.add({ id: id(1000), size: 500, blobs: [blob(1)], legacy: true });
    idx.add({ id: id(2000), size: 500, blobs: [blob(2, { legacy: true })] });
    expect(idx.lookup(id(1))).toStrictEqual({ ...blob(1), pack: id(1000), legacy: true });
    expect(idx.lookup(id(2))).toStrictEqual({ ...blob(2), pack: id(2000), legacy: true });
    expect(idx.indexedPack(id(1000))).toStrictEqual({ id: id(1000), size: 500, blobs: [blob(1)], legacy: true });
  });

  it('keeps its own objects: changing what was added, or what blobsOf gave out, changes nothing inside', () => {
    const idx = new MasterIndex();
    const p: IndexedPack = { id: id(1000), size: 500, blobs: [blob(1)] };
    idx.add(p);
    p.blobs[0]!.offset = 12345;
    idx.blobsOf(id(1000))[0]!.length = 1;
    expect(idx.lookup(id(1))).toStrictEqual({ ...blob(1), pack: id(1000) });
  });
});
