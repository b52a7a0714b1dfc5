/**
 * `lifeboat restore --tier cold` into a folder that already holds what it
 * would write, without --overwrite, is refused before any thaw is requested
 * (issue 20): being refused after paying for a thaw would be a surprise. With
 * a policy it thaws and restores as the policy says. The Glacier test double
 * in front of s3rver, as in thaw-cli.test.ts.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { expectSameManifest, manifestOf } from '../../helpers/fs-manifest.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';
import { coldEnv, makeColdRepo, useGlacierS3 } from './thaw-cold-repo.js';

const tempDir = useTempDirs('thaw-refusal');
const BUCKET = 'thaw-refusal';
const glacier = useGlacierS3(BUCKET);

describe('restore --tier cold into a folder holding what it writes', () => {
  it('without --overwrite: exit 2 naming the files, no thaw requested, nothing changed; with --overwrite never: thaws and keeps them', async () => {
    const base = await tempDir();
    const cold = await makeColdRepo({ base, name: 'cold-refusal', endpoint: glacier.proxy.endpoint, bucket: BUCKET });
    const env = coldEnv(join(base, 'home'), { LIFEBOAT_THAW_POLL: '20ms', LIFEBOAT_THAW_POLL_MAX: '100ms' });
    const target = join(base, 'restored');
    const first = await runCli(['restore', cold.file, '--tier', 'cold', '--target', target, '--include', 'data/docs/notes.txt'], { env });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    await writeFile(join(target, 'data/docs/notes.txt'), 'edited since\n');
    const before = await manifestOf(target);
    const thawsBefore = glacier.proxy.restoreRequests().filter((r) => r.key.startsWith(`${cold.prefix}/`)).length;

    const refused = await runCli(['restore', cold.file, '--tier', 'cold', '--target', target], { env });
    expect(refused.code, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stderr).toContain(`refusing to restore into ${target}: it already holds 1 path(s) this restore would write, and no --overwrite policy says what to do with them: data/docs/notes.txt.`);
    expect(glacier.proxy.restoreRequests().filter((r) => r.key.startsWith(`${cold.prefix}/`)).length).toBe(thawsBefore);
    expectSameManifest(await manifestOf(target), before);

    const kept = await runCli(['restore', cold.file, '--tier', 'cold', '--target', target, '--overwrite', 'never'], { env });
    expect(kept.code, kept.stdout + kept.stderr).toBe(0);
    expect(await readFile(join(target, 'data/docs/notes.txt'), 'utf8')).toBe('edited since\n');
    expect(await readFile(join(target, 'data/big.bin'))).toEqual(await readFile(join(cold.data, 'big.bin')));
  });
});
