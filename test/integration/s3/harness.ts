/**
 * Shared pieces of the whole-pipeline S3 tests: a runbook whose hot repository
 * is an s3:// URL on a loopback endpoint (s3rver, or the flaky proxy in front
 * of it), the environment every CLI call gets, the run records of a state
 * folder, fast incompressible test data, and a look at what s3rver holds.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { mkdir, open, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { writeFileSync } from 'node:fs';
import { openJsonStore, type RunRecord, type StageRecord } from '../../../src/core/store/index.js';
import { s3rverCredentials } from '../../helpers/s3rver.js';

export const MiB = 1024 * 1024;
export const S3_PASSWORD = 'pipeline s3 tests password';

export interface S3RunbookOptions {
  /** http://127.0.0.1:PORT of s3rver or of the proxy in front of it. */
  endpoint: string;
  bucket: string;
  prefix: string;
  /** Source folder, relative to the runbook file or absolute. */
  source: string;
  concurrency?: number;
}

/** Writes `<dir>/<name>.yaml` (base name = name) backing up `source` into `s3://bucket/prefix`. */
export function writeS3Runbook(dir: string, name: string, o: S3RunbookOptions): string {
  const doc = {
    name,
    owner: '@lifeboat-tests',
    sources: [{ name: 'data', path: o.source }],
    repository: {
      hot: { url: `s3://${o.bucket}/${o.prefix}`, endpoint: o.endpoint, pathStyle: true, region: 'us-east-1' },
      password: { env: 'LIFEBOAT_PASSWORD' },
    },
    objectives: { rpo: '26h', rto: '15m' },
    transfer: { concurrency: o.concurrency ?? 4 },
  };
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(doc));
  return file;
}

/** What every CLI call gets on top of runCli's minimal environment. */
export function s3Env(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    LIFEBOAT_PASSWORD: S3_PASSWORD,
    LIFEBOAT_HOME: home,
    AWS_ACCESS_KEY_ID: s3rverCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3rverCredentials.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...extra,
  };
}

/** Runs of `runbook` in the state folder `home`, newest first, through the store's own API. */
export async function runsOf(home: string, runbook: string): Promise<RunRecord[]> {
  const store = await openJsonStore(home);
  try {
    return await store.listRuns({ runbook, limit: 10_000 });
  } finally {
    await store.close();
  }
}

export function stageOf(run: RunRecord, name: StageRecord['name']): StageRecord {
  const stage = run.stages.find((s) => s.name === name);
  if (!stage) throw new Error(`run ${run.id} has no ${name} stage: ${run.stages.map((s) => s.name).join(', ')}`);
  return stage;
}

/**
 * `size` bytes of AES-CTR keystream keyed by `seed`: incompressible, never
 * deduplicated against another seed, and generated at well over 1 GB/s.
 */
export function keystream(seed: string, size: number, offset = 0): Buffer {
  const key = createHash('sha256').update(seed).digest();
  const iv = Buffer.alloc(16);
  // The counter starts at block `offset / 16`, so a file can be written in parts.
  iv.writeBigUInt64BE(BigInt(offset / 16), 8);
  return createCipheriv('aes-256-ctr', key, iv).update(Buffer.alloc(size));
}

/** Writes `size` bytes of keystream to `path` in 8 MiB parts. */
export async function writeRandomFile(path: string, seed: string, size: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const file = await open(path, 'w');
  try {
    for (let at = 0; at < size; at += 8 * MiB) {
      const n = Math.min(8 * MiB, size - at);
      await file.write(keystream(seed, n, at), 0, n, at);
    }
  } finally {
    await file.close();
  }
}

/** Keys (relative to the bucket) of the objects s3rver holds under `prefix/`, with their sizes. */
export async function objectsInBucket(s3rverDirectory: string, bucket: string, prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const root = join(s3rverDirectory, bucket);
  const suffix = '._S3rver_object';
  let entries;
  try {
    entries = await readdir(join(root, prefix), { withFileTypes: true, recursive: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw e;
  }
  for (const entry of entries) {
    if (!entry.isFile() || !entry.name.endsWith(suffix)) continue;
    const abs = join(entry.parentPath, entry.name);
    const key = abs.slice(root.length + 1, -suffix.length);
    out.set(key, (await stat(abs)).size);
  }
  return out;
}

/** Files (recursively) under `dir`, or [] when it does not exist. */
export async function filesUnder(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true, recursive: true });
    return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}
