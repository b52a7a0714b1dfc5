/**
 * capYoungGeneration (release-memory.ts) keeps the main thread's young
 * generation at its cap, also after a repository worker pool started a new
 * isolate (which resets V8's growth factor); without it the same allocations
 * grow the space to V8's maximum. Each case runs in a fresh process: a test
 * runner's heap has grown already.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { childJsonLine } from '../../helpers/child-json.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('young-generation');
const child = fileURLToPath(new URL('../../helpers/young-generation-child.ts', import.meta.url));

interface Sizes {
  before: number;
  afterFirst: number;
  end: number;
  cap: number;
}

const childLine = async <T>(mode: 'capped' | 'uncapped' | 'spawn'): Promise<T> => childJsonLine<T>(child, [mode, await tempDir()]);
const sizes = (mode: 'capped' | 'uncapped') => childLine<Sizes>(mode);

describe('the main thread young generation cap', () => {
  it('stays at the cap through allocation and a worker pool start; the same allocations grow it without', async () => {
    const [capped, uncapped] = await Promise.all([sizes('capped'), sizes('uncapped')]);
    // The allocations really do grow an uncapped space past the cap...
    expect(uncapped.afterFirst).toBeGreaterThan(uncapped.cap);
    // ...and a capped one does not grow, before or after the pool's worker started.
    expect(capped.afterFirst).toBeLessThanOrEqual(capped.cap);
    expect(capped.end).toBeLessThanOrEqual(capped.cap);
  });

  it('a scavenge is forced before each worker isolate starts once the space is at its cap (V8 resets the growth factor while configuring the new heap)', async () => {
    const spawn = await childLine<{ forced: number; workers: number; reached: boolean }>('spawn');
    expect(spawn.reached).toBe(true);
    expect(spawn.forced).toBeGreaterThanOrEqual(spawn.workers);
  });
});
