/**
 * An in-process s3rver (a real S3 protocol server) for tests: loopback, port 0,
 * a fresh temp folder, credentials S3RVER / S3RVER, one bucket made up front.
 *
 * s3rver writes an object straight into its final file and answers the PUT
 * before that file is flushed, so a concurrent HEAD, GET or LIST sees a part of
 * the object, and a dropped upload can leave a prefix behind (it once kept
 * truncated objects here). Real S3 makes an object visible only when it is
 * complete. By default this helper patches s3rver's file store to write a temp
 * file outside the bucket folder and rename it into place after it is flushed,
 * so the Backend contract tests our S3 backend and not s3rver's shortcuts.
 * `atomicPuts: false` keeps s3rver as shipped.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, rename, rm, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';

export const s3rverCredentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface S3rverOptions {
  /** Buckets created before the server answers (default: one, "lifeboat-test"). */
  buckets?: string[];
  /** Write-then-rename object stores (default true); see the file comment. */
  atomicPuts?: boolean;
}

export interface RunningS3rver {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  port: number;
  /** The first bucket created. */
  bucket: string;
  /** Where s3rver keeps its files: `<directory>/<bucket>/<key>._S3rver_object`. */
  directory: string;
  stop(): Promise<void>;
}

interface S3ObjectLike {
  bucket: string;
  key: string;
  content: Buffer | Readable;
  metadata: Record<string, unknown>;
}

interface FilesystemStoreLike {
  getResourcePath(bucket: string, key: string, resource: string): string;
  getMetadata(bucket: string, key: string): Promise<Record<string, unknown>>;
  putObject(object: S3ObjectLike): Promise<{ size: number; md5: string }>;
  getObject(bucket: string, key: string, options?: { start?: number; end?: number }): Promise<unknown>;
}

type S3ObjectClass = new (bucket: string, key: string, content: Readable | null, metadata: Record<string, unknown>) => {
  range?: { start: number; end: number };
};

interface S3rverInstance {
  store: FilesystemStoreLike;
  run(): Promise<{ port: number; address: string }>;
  close(): Promise<void>;
}

type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

// s3rver ships no types; it is CommonJS, so load it through require with the little we use typed above.
const require = createRequire(import.meta.url);
const S3rver = require('s3rver') as S3rverClass;
const S3Object = require('s3rver/lib/models/object.js') as S3ObjectClass & { ALLOWED_METADATA: string[] };
const { ALLOWED_METADATA } = S3Object;

export async function startS3rver(options: S3rverOptions = {}): Promise<RunningS3rver> {
  const buckets = options.buckets ?? ['lifeboat-test'];
  const root = await mkdtemp(join(tmpdir(), 'lifeboat-s3rver-'));
  const directory = join(root, 'store');
  const tempDirectory = join(root, 'tmp');
  await mkdir(directory);
  await mkdir(tempDirectory);
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  if (options.atomicPuts !== false) {
    makePutsAtomic(server.store, tempDirectory);
    makeGetsConsistent(server.store);
  }
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    bucket: buckets[0] ?? '',
    directory,
    stop: async () => {
      await server.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/**
 * Replaces the store's putObject (which multipart completion uses too) with
 * one that streams into a temp file outside every bucket folder (s3rver's
 * listing stats each file it walks, so a temp file renamed away mid-walk would
 * fail the listing), waits for the flush, and renames it into place — its
 * metadata and MD5 files too, which s3rver otherwise rewrites in place so that
 * a concurrent HEAD parses half a JSON file and answers 500. A body that
 * errors (client gone mid-upload) leaves the old object untouched.
 */
function makePutsAtomic(store: FilesystemStoreLike, tempDirectory: string): void {
  const tempPath = () => join(tempDirectory, randomBytes(12).toString('hex'));
  const writeAtomically = async (path: string, data: string) => {
    const temp = tempPath();
    await writeFile(temp, data);
    await rename(temp, path);
  };
  store.putObject = async function putObject(object: S3ObjectLike) {
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
    const temp = tempPath();
    const md5 = createHash('md5');
    let size = 0;
    const source = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
    try {
      await pipeline(
        source,
        new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            md5.update(chunk);
            size += chunk.length;
            callback(null, chunk);
          },
        }),
        createWriteStream(temp),
      );
    } catch (e) {
      await unlink(temp).catch(() => undefined);
      throw e;
    }
    const digest = md5.digest('hex');
    // As s3rver's own putMetadata keeps them: the allowed headers and x-amz-meta-*.
    const metadata = Object.fromEntries(
      Object.entries(object.metadata).filter(([name]) => ALLOWED_METADATA.includes(name) || name.startsWith('x-amz-meta-')),
    );
    await mkdir(dirname(objectPath), { recursive: true });
    await writeAtomically(store.getResourcePath(object.bucket, object.key, 'metadata.json'), JSON.stringify(metadata, null, 2));
    await writeAtomically(store.getResourcePath(object.bucket, object.key, 'object.md5'), digest);
    await rename(temp, objectPath);
    return { size, md5: digest };
  };
}

/**
 * s3rver's getObject takes the size from a stat of the path and then opens the
 * path: an object replaced in between is served as the old length of the new
 * bytes. This one opens first and takes the size from that open file, so a GET
 * or HEAD sees one version whole. Ranges are computed as s3rver does, except
 * that `bytes=0-0` is the first byte, as in S3 (s3rver reads the end 0 as "to
 * the end" and sends the whole object, which S3Backend refuses as a widened
 * range).
 */
function makeGetsConsistent(store: FilesystemStoreLike): void {
  store.getObject = async function getObject(bucket: string, key: string, options?: { start?: number; end?: number }) {
    let file: FileHandle;
    try {
      file = await open(store.getResourcePath(bucket, key, 'object'), 'r');
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return null;
      throw e;
    }
    try {
      const { size } = await file.stat();
      const metadata = await store.getMetadata(bucket, key).catch((): Record<string, unknown> => ({}));
      metadata['content-length'] = size;
      const lastByte = Math.max(0, size - 1);
      const range = { start: options?.start ?? 0, end: Math.min(options?.end ?? Infinity, lastByte) };
      const ranged = options !== undefined && (options.start !== undefined || options.end !== undefined);
      if (range.start < 0 || range.end < range.start) {
        await file.close();
        const object = new S3Object(bucket, key, null, metadata);
        if (ranged) object.range = range;
        return object;
      }
      const object = new S3Object(bucket, key, file.createReadStream({ start: range.start, end: range.end }), metadata);
      if (ranged) object.range = range;
      return object;
    } catch (e) {
      await file.close().catch(() => undefined);
      throw e;
    }
  };
}
