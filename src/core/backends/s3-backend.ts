/**
 * The S3 adapter: the one file that imports the AWS SDK (see the class
 * comment below). What needs no client lives beside it: the URL
 * (s3-url.ts), the mapping of S3 errors to the Backend contract
 * (s3-errors.ts) and the reading of archive states (s3-archive-state.ts).
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Readable, finished } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  PutObjectRetentionCommand,
  RestoreObjectCommand,
  S3Client,
  type BucketLocationConstraint,
  type S3ClientConfig,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { LifeboatError, isLifeboatError } from '../errors.js';
import type { FileBody } from './file-body.js';
import { spanBuffer } from './span-buffers.js';
import { maxLoadBytes, type ArchiveState, type Backend, type ByteRange, type RangeSink, type FileKind, type Handle, type ObjectInfo, type SaveOptions, type ThawRequest, type ThawRequestOutcome } from './backend.js';
import { checkRange, checkedObjectPath, isValidName, rangeError, tooLargeError } from './object-name.js';
import { archiveStateFromHead } from './s3-archive-state.js';
import { lockedKinds, retainUntil, type LockRetention, type LockSettings, type ObjectVersion } from './object-lock.js';
import { mapS3Error, s3ErrorName } from './s3-errors.js';
import { parseS3Url, redactUrl } from './s3-url.js';

const MiB = 1024 * 1024;

/** Access keys for code that holds them already (tests, embedding). Runbooks never carry these. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3BackendOptions {
  /** An S3-compatible endpoint (MinIO, Ceph, R2, s3rver), e.g. http://127.0.0.1:9000. Default: AWS. */
  endpoint?: string;
  /** Address buckets as `endpoint/bucket/key` instead of `bucket.endpoint/key` (most S3-compatible stores want this). */
  pathStyle?: boolean;
  /** Default: us-east-1 with a custom endpoint, else the SDK's chain (AWS_REGION, the profile). */
  region?: string;
  /**
   * Default: the SDK's standard chain (environment, shared profile, SSO,
   * instance or task role). Only for callers that hold keys already.
   */
  credentials?: S3Credentials;
  /** The storage class of `data/` objects when a save names none (default: STANDARD). */
  dataStorageClass?: string;
  /**
   * Whether the SDK adds checksums to requests and checks them on responses:
   * `when-required` (only where S3 demands one) or `when-supported` (always).
   * Default: `when-required` with a custom endpoint, because the SDK then sends
   * stream bodies aws-chunked and some stores (s3rver) keep the framing bytes
   * inside the object; `when-supported` on AWS itself.
   */
  checksums?: 'when-required' | 'when-supported';
  /** May `create()` make a missing bucket (default true)? When false, a missing bucket is BACKEND_NOT_FOUND. */
  createBucket?: boolean;
  /**
   * Objects larger than this go up as a multipart upload (default 32 MiB: a
   * pack, 16 MiB by default, goes in one PutObject, as restic's do; a multipart
   * upload is three requests more and a store that reassembles the parts).
   */
  multipartThresholdBytes?: number;
  /** Multipart part size (default 8 MiB, at least 5 MiB as S3 demands). */
  partSizeBytes?: number;
  /** Parts of one object uploaded at once (default 4). */
  partConcurrency?: number;
  /** Give up connecting after this long (default 10 s). */
  connectTimeoutMs?: number;
  /**
   * A request whose socket moves no byte for this long fails with a retryable
   * BACKEND_UNAVAILABLE (default 30 s). This is an idle timeout, not a total
   * one: a large object on a slow link may take as long as it needs.
   */
  idleTimeoutMs?: number;
  /** Keys per ListObjectsV2 page (default 1000, S3's maximum). */
  listPageSize?: number;
  /**
   * Sign upload bodies (PutObject, UploadPart) as UNSIGNED-PAYLOAD when the
   * endpoint is https (default true). SigV4 otherwise hashes every body with
   * SHA-256 on the main thread (~1.5 s of CPU per GB); over TLS the transport
   * already guards the bytes, and every object is authenticated by its own MAC
   * on every load and its size checked after each save. Over plain http bodies
   * are always signed.
   */
  unsignedPayloadOverTls?: boolean;
  /** Sockets kept per client (default 50). */
  maxSockets?: number;
  /**
   * Write every object but lock files under S3 Object Lock, retained `days`
   * from the write (src/core/backends/object-lock.ts); `create()` then makes
   * the bucket with Object Lock on, or refuses a bucket without it.
   */
  objectLock?: LockSettings;
  /** The clock retain-until dates are counted from (tests); default the system clock. */
  now?: () => Date;
}

const defaults = {
  multipartThresholdBytes: 32 * MiB,
  partSizeBytes: 8 * MiB,
  partConcurrency: 4,
  connectTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  listPageSize: 1000,
  maxSockets: 50,
};

/**
 * A repository in an S3 bucket under a prefix (`s3://bucket/prefix`), on AWS or
 * any S3-compatible store.
 *
 * - Object keys are `prefix/` + the Backend layout (`config`, `data/ab/abcd…`).
 * - `save` is a single PutObject, or a multipart upload above
 *   `multipartThresholdBytes`; S3 makes either visible only when complete, so
 *   saves are atomic. The size is then checked with HeadObject (a store that
 *   answered 200 but kept fewer bytes gets one re-upload, then BACKEND_IO).
 * - Only `data/` objects take a storage class other than STANDARD: config,
 *   keys, index, snapshots and locks must stay readable without a thaw.
 * - The SDK's own retries are off (one attempt per call): RetryBackend owns
 *   retries, so that backoff, budget, counters and events live in one place and
 *   attempts do not multiply.
 * - Errors follow the Backend contract and name the bucket and key, never
 *   credentials.
 * An interrupted multipart upload is aborted when possible; a bucket lifecycle
 * rule (AbortIncompleteMultipartUpload) cleans up the ones that were not.
 */
export class S3Backend implements Backend {
  readonly location: string;
  readonly bucket: string;
  readonly prefix: string;
  /** saveChecked: every save is followed by a HeadObject of its size. */
  readonly checksSavedSize = true;
  private readonly client: S3Client;
  private readonly root: string;
  private readonly options: S3BackendOptions & typeof defaults;
  private readonly agents: { http: HttpAgent; https: HttpsAgent };
  /** Set once any call reached the bucket, so a 404 from HeadObject is surely a missing key. */
  private bucketSeen = false;

  constructor(url: string, options: S3BackendOptions = {}) {
    const { bucket, prefix } = parseS3Url(url);
    this.bucket = bucket;
    this.prefix = prefix;
    this.root = prefix === '' ? '' : `${prefix}/`;
    this.location = `s3://${bucket}${prefix === '' ? '' : `/${prefix}`}`;
    this.options = { ...defaults, ...stripUndefined(options) };
    if (this.options.partSizeBytes < 5 * MiB) {
      throw new LifeboatError('USAGE', `S3 part size ${this.options.partSizeBytes} is below the 5 MiB S3 requires`);
    }
    this.agents = {
      http: new HttpAgent({ keepAlive: true, maxSockets: this.options.maxSockets }),
      https: new HttpsAgent({ keepAlive: true, maxSockets: this.options.maxSockets }),
    };
    this.client = new S3Client(this.clientConfig());
    if (this.options.unsignedPayloadOverTls !== false) addUnsignedPayloadOverTls(this.client);
  }

  private checksumMode(): 'WHEN_REQUIRED' | 'WHEN_SUPPORTED' {
    const checksums = this.options.checksums ?? (this.options.endpoint === undefined ? 'when-supported' : 'when-required');
    return checksums === 'when-required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
  }

  private clientConfig(): S3ClientConfig {
    const { endpoint, pathStyle, region, credentials } = this.options;
    const checksumMode = this.checksumMode();
    return {
      ...(endpoint === undefined ? { followRegionRedirects: true } : { endpoint }),
      forcePathStyle: pathStyle ?? false,
      region: region ?? (endpoint === undefined ? undefined : 'us-east-1'),
      ...(credentials === undefined ? {} : { credentials }),
      // One attempt per call: RetryBackend retries (see the class comment).
      maxAttempts: 1,
      requestChecksumCalculation: checksumMode,
      responseChecksumValidation: checksumMode,
      requestHandler: {
        connectionTimeout: this.options.connectTimeoutMs,
        // An idle-socket timeout turns a stalled upload or download into a
        // retryable error; it covers the body too, unlike requestTimeout.
        socketTimeout: this.options.idleTimeoutMs,
        // Agents of our own, not agent options: given options, the SDK sends
        // each request that says "Expect: 100-continue" (its PutObject and
        // UploadPart of large bodies) through a throwaway agent without
        // keep-alive — a TCP connection and a TLS handshake per pack (39
        // connections for 40 PUTs on s3rver) — and waits for "100 Continue"
        // before the body. With ours, those requests reuse kept sockets.
        httpAgent: this.agents.http,
        httpsAgent: this.agents.https,
      },
    };
  }

  async save(handle: Handle, data: Uint8Array, options?: SaveOptions): Promise<void> {
    const key = this.keyOf(handle);
    const storageClass = this.storageClassOf(handle, options);
    await this.saveChecked(key, data.length, () => this.upload(key, data, storageClass, this.lockFor(handle.kind)));
  }

  /**
   * A staged file sent as it is read (file-body.ts), where that changes
   * nothing else: one PutObject (not multipart), over https with
   * UNSIGNED-PAYLOAD (a stream cannot be hashed for SigV4 before it is sent,
   * and over http the body stays signed), no SDK checksum (it would send a
   * stream aws-chunked) and no Object Lock (its SHA-256 checksum would need
   * the whole body first). Anything else is read whole and goes through save.
   * Same after-save size check either way.
   */
  async saveFile(handle: Handle, file: FileBody, options?: SaveOptions): Promise<void> {
    if (!this.streamsUploadOf(handle, file.size)) return this.save(handle, await file.bytes(), options);
    const key = this.keyOf(handle);
    const storageClass = this.storageClassOf(handle, options);
    await this.saveChecked(key, file.size, () => this.putStream(key, file, storageClass));
  }

  private storageClassOf(handle: Handle, options: SaveOptions | undefined): string | undefined {
    return handle.kind === 'data' && !options?.metadataPack ? (options?.storageClass ?? this.options.dataStorageClass) : 'STANDARD';
  }

  private streamsUploadOf(handle: Handle, size: number): boolean {
    return (
      size <= this.options.multipartThresholdBytes &&
      this.lockFor(handle.kind) === undefined &&
      this.options.objectLock === undefined &&
      this.unsignedUploads &&
      this.checksumMode() === 'WHEN_REQUIRED'
    );
  }

  /** Whether uploads go UNSIGNED-PAYLOAD: https (AWS itself, or an https endpoint) and not turned off. */
  private get unsignedUploads(): boolean {
    if (this.options.unsignedPayloadOverTls === false) return false;
    const { endpoint } = this.options;
    return endpoint === undefined || /^https:/i.test(endpoint);
  }

  /** Uploads once, then checks the stored size (HeadObject): one re-upload when it is wrong, then BACKEND_IO. */
  private async saveChecked(key: string, size: number, upload: () => Promise<string | undefined>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const etag = await upload();
      const stored = await this.storedSize(key);
      if (stored.size === size) return;
      // Another writer replaced the object after us (last writer wins, as with any store).
      if (stored.etag !== undefined && etag !== undefined && stored.etag !== etag) return;
      if (attempt === 2) {
        const found = stored.size === undefined ? 'no object' : `${stored.size} bytes`;
        throw new LifeboatError(
          'BACKEND_IO',
          `save ${this.where(key)}: the store confirmed ${size} bytes but holds ${found}, twice`,
          { retryable: true, details: { op: 'save', bucket: this.bucket, key, expected: size, stored: stored.size } },
        );
      }
    }
  }

  /**
   * Reads at most what it may return (see the Backend contract): a ranged
   * answer must announce exactly the range's length and an unranged one at
   * most maxLoadBytes for its kind, checked before the body is read; the body
   * is read no further than that. An answer without Content-Length (chunked)
   * is read up to the same limit. A server that widens or ignores a range is
   * refused rather than cut down: S3 never does, and the widened body could be
   * anything up to the whole object.
   */
  async load(handle: Handle, range?: { offset: number; length: number }): Promise<Buffer> {
    return this.loadVersion(handle, undefined, range);
  }

  /** `load` of one version of a versioned object (Object Lock buckets); undefined: the current one. */
  async loadVersion(handle: Handle, versionId: string | undefined, range?: { offset: number; length: number }): Promise<Buffer> {
    const key = this.keyOf(handle);
    const where = this.where(key);
    if (range !== undefined) checkRange(range, where);
    if (range?.length === 0) {
      // HTTP cannot ask for zero bytes; only the offset needs checking.
      const size = await this.sizeOf(key, 'load', versionId);
      if (range.offset > size) throw rangeError(where, range, size);
      return Buffer.allocUnsafeSlow(0);
    }
    let response;
    try {
      response = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          ...(versionId === undefined ? {} : { VersionId: versionId }),
          ...(range === undefined ? {} : { Range: `bytes=${range.offset}-${range.offset + range.length - 1}` }),
        }),
      );
    } catch (e) {
      if (range !== undefined && s3ErrorName(e) === 'InvalidRange') {
        throw rangeError(where, range, await this.sizeOf(key, 'load', versionId));
      }
      throw this.mapError(e, 'load', key);
    }
    this.bucketSeen = true;
    const announced = response.ContentLength;
    const limit = range?.length ?? maxLoadBytes[handle.kind];
    const refuse = (error: LifeboatError): never => {
      discardBody(response.Body);
      throw error;
    };
    if (range !== undefined) {
      const wrong = this.wrongRangeAnswer(key, range, response);
      if (wrong !== undefined) refuse(wrong);
    } else if (announced !== undefined && announced > limit) {
      refuse(tooLargeError(where, handle.kind, announced, limit));
    }
    const body = await this.readBody(response.Body, announced, limit, key, range === undefined ? handle.kind : undefined);
    if (range !== undefined && body.length < range.length) {
      throw unavailable(`load ${where}: the store sent ${body.length} of ${range.length} bytes`, 'load', this.bucket, key);
    }
    return body;
  }

  /**
   * Why a ranged answer cannot be read (Content-Length and Content-Range must
   * be exactly the range asked for; see load), or undefined when it can.
   */
  private wrongRangeAnswer(key: string, range: ByteRange, response: { ContentLength?: number; ContentRange?: string }): LifeboatError | undefined {
    const announced = response.ContentLength;
    // No Content-Range: the server sent the object from its first byte (a 200 that ignored the range).
    const served = parseContentRange(response.ContentRange) ?? { start: 0 };
    const wrongLength = announced !== undefined && announced !== range.length;
    // S3 answers a range that runs past the end with the bytes up to the end.
    if (wrongLength && served.start === range.offset && served.total !== undefined && range.offset + range.length > served.total) {
      return rangeError(this.where(key), range, served.total);
    }
    if (wrongLength || served.start !== range.offset) {
      const answered = `${announced === undefined ? 'an unannounced number of' : announced} bytes from offset ${served.start}`;
      return this.loadIo(key, `asked for ${range.length} bytes at offset ${range.offset}, the store answered ${answered}; not read`, { expected: range.length, received: announced });
    }
    return undefined;
  }

  /**
   * Several ranges of one object in one GET (Backend.loadRanges): a restore
   * reads a pack's blobs in spans of at most 8 MiB, and one request per span
   * cost s3rver (sharing the machine) ~1 CPU s per 200 requests, and a TLS
   * record stream and an HTTP answer each. The body is read as it comes, each
   * range copied into a buffer of its own (span-sized ranges into a reused
   * span buffer, span-buffers.ts) and handed on when complete; the
   * bytes between ranges are dropped. Reading waits while `onRange` does (the
   * socket's flow control holds the rest), so at most one range is buffered
   * here. Same checks as `load`: the answer must be exactly the span asked
   * for, and is read no further.
   */
  async loadRanges(handle: Handle, ranges: readonly ByteRange[], onRange: RangeSink): Promise<void> {
    const key = this.keyOf(handle);
    const where = this.where(key);
    let end = ranges[0]?.offset ?? 0;
    for (const r of ranges) {
      checkRange(r, where);
      if (r.offset < end) throw new LifeboatError('INTERNAL', `load ${where}: ranges must be ascending and apart (offset ${r.offset} before ${end})`);
      end = r.offset + r.length;
    }
    // Nothing to stream (HTTP cannot ask for zero bytes): load checks such ranges one by one.
    if (ranges.length === 0 || ranges.some((r) => r.length === 0)) {
      for (let i = 0; i < ranges.length; i++) await onRange(i, await this.load(handle, ranges[i]));
      return;
    }
    const whole = { offset: ranges[0]!.offset, length: end - ranges[0]!.offset };
    let response;
    try {
      response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${whole.offset}-${end - 1}` }));
    } catch (e) {
      if (s3ErrorName(e) === 'InvalidRange') throw rangeError(where, whole, await this.sizeOf(key, 'load'));
      throw this.mapError(e, 'load', key);
    }
    this.bucketSeen = true;
    const wrong = this.wrongRangeAnswer(key, whole, response);
    if (wrong !== undefined) {
      discardBody(response.Body);
      throw wrong;
    }
    await this.readRanges(response.Body, whole, ranges, key, onRange);
  }

  /** The body of a loadRanges answer (exactly `whole`), cut into `ranges` as it arrives. */
  private async readRanges(body: unknown, whole: ByteRange, ranges: readonly ByteRange[], key: string, onRange: RangeSink): Promise<void> {
    if (!(body instanceof Readable)) {
      // Not a Node stream (other runtimes' handlers): read whole, then cut.
      const all = await this.readBody(body, whole.length, whole.length, key, undefined);
      for (let i = 0; i < ranges.length; i++) {
        const r = ranges[i]!;
        const own = Buffer.allocUnsafeSlow(r.length);
        all.copy(own, 0, r.offset - whole.offset, r.offset - whole.offset + r.length);
        await onRange(i, own);
      }
      return;
    }
    // 'data' events, paused while `onRange` works, rather than `for await`: the async iterator
    // costs a promise and a tick per chunk, and a pack arrives in ~16 KiB TLS records.
    const stream = body;
    const where = this.where(key);
    let pos = whole.offset; // the object offset of the next byte the body brings
    let next = 0;
    let buf: Buffer | undefined;
    let filled = 0;
    let busy = false;
    let ended = false;
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (error?: unknown): void => {
        if (settled) return;
        settled = true;
        if (error === undefined) return resolve();
        stream.destroy();
        reject(error);
      };
      const finish = (): void => settle(next < ranges.length ? shortBody(where, pos - whole.offset, whole.length, this.bucket, key) : undefined);
      /** Cuts `chunk` from `at` into the ranges; pauses the body while a complete range is with `onRange`. */
      const consume = (chunk: Buffer, at: number): void => {
        while (at < chunk.length) {
          // Bytes remain only while a range does: the body is exactly `whole`, which ends with the last range.
          const r = ranges[next]!;
          if (pos < r.offset) {
            const skip = Math.min(r.offset - pos, chunk.length - at);
            at += skip;
            pos += skip;
            continue;
          }
          buf ??= spanBuffer(r.length);
          const n = Math.min(r.length - filled, chunk.length - at);
          chunk.copy(buf, filled, at, at + n);
          filled += n;
          at += n;
          pos += n;
          if (filled < r.length) continue;
          const complete = buf;
          buf = undefined;
          filled = 0;
          const index = next++;
          busy = true;
          stream.pause();
          const rest = at;
          // The caller's own failure ends the read and goes back to it as it was: it is no store error.
          onRange(index, complete).then(() => {
            busy = false;
            if (settled) return;
            consume(chunk, rest);
            if (busy || settled) return;
            if (ended) finish();
            else stream.resume();
          }, settle);
          return;
        }
      };
      stream.on('data', (chunk: Buffer) => {
        if (settled) return;
        const received = pos - whole.offset + chunk.length;
        if (received > whole.length) {
          settle(this.loadIo(key, `the store sent more than the ${whole.length} bytes asked for (at least ${received}); stopped reading`, { expected: whole.length, received }));
          return;
        }
        consume(chunk, 0);
      });
      finished(stream, (error) => {
        if (error) return settle(this.mapError(error, 'load', key));
        ended = true;
        if (!busy) finish();
      });
    });
  }

  async stat(handle: Handle): Promise<ObjectInfo> {
    const key = this.keyOf(handle);
    return { name: handle.name, size: await this.sizeOf(key, 'stat') };
  }

  async *list(kind: FileKind): AsyncGenerator<ObjectInfo> {
    if (kind === 'config') {
      const size = await this.sizeOf(`${this.root}config`, 'list').catch((e: unknown) => {
        if (isLifeboatError(e, 'BACKEND_NOT_FOUND') && e.details.bucketMissing !== true) return undefined;
        throw e;
      });
      if (size !== undefined) yield { name: 'config', size };
      return;
    }
    const base = `${this.root}${kind}/`;
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: base,
            MaxKeys: this.options.listPageSize,
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
        );
      } catch (e) {
        throw this.mapError(e, 'list', base);
      }
      this.bucketSeen = true;
      for (const object of page.Contents ?? []) {
        const name = nameUnder(kind, object.Key?.slice(base.length) ?? '');
        if (name !== undefined && object.Key?.startsWith(base) === true) yield { name, size: object.Size ?? 0, modified: object.LastModified };
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async remove(handle: Handle): Promise<void> {
    const key = this.keyOf(handle);
    try {
      // S3 answers 204 for a missing key, so remove is idempotent as the contract asks.
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
      this.bucketSeen = true;
    } catch (e) {
      const error = this.mapError(e, 'remove', key);
      if (error.code === 'BACKEND_NOT_FOUND' && error.details.bucketMissing !== true) return;
      throw error;
    }
  }

  async create(): Promise<void> {
    if (await this.bucketExists('create')) {
      if (this.options.objectLock !== undefined) await this.requireObjectLock();
      return;
    }
    if (this.options.createBucket === false) throw this.bucketMissing('create');
    const region = await this.client.config.region().catch(() => undefined);
    try {
      await this.client.send(
        new CreateBucketCommand({
          Bucket: this.bucket,
          // Object Lock can only be turned on when a bucket is made; it turns versioning on with it.
          ...(this.options.objectLock === undefined ? {} : { ObjectLockEnabledForBucket: true }),
          ...(region === undefined || region === 'us-east-1'
            ? {}
            : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
        }),
      );
    } catch (e) {
      const name = s3ErrorName(e);
      // Made meanwhile by us or by a concurrent init; only a bucket we can reach will do.
      if (name === 'BucketAlreadyOwnedByYou' || ((name === 'BucketAlreadyExists' || name === 'OperationAborted') && (await this.bucketExists('create')))) {
        return;
      }
      if (name === 'BucketAlreadyExists') {
        throw new LifeboatError(
          'BACKEND_PERMISSION',
          `create ${this.location}: the bucket name "${this.bucket}" is taken by another account (choose another bucket name)`,
          { details: { op: 'create', bucket: this.bucket, s3Error: name } },
        );
      }
      const error = this.mapError(e, 'create', undefined);
      if (error.code === 'BACKEND_PERMISSION') {
        const why = String(error.details.s3Error ?? `HTTP ${String(error.details.httpStatus)}`);
        throw new LifeboatError(
          'BACKEND_PERMISSION',
          `create ${this.location}: bucket "${this.bucket}" does not exist and these credentials may not create it (${why}): create the bucket, or grant s3:CreateBucket`,
          { cause: error.cause, details: error.details },
        );
      }
      throw error;
    }
    this.bucketSeen = true;
  }

  async exists(): Promise<boolean> {
    try {
      await this.sizeOf(`${this.root}config`, 'exists');
      return true;
    } catch (e) {
      // A missing bucket holds no repository either.
      if (isLifeboatError(e, 'BACKEND_NOT_FOUND')) return false;
      throw e;
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
    // The SDK destroys the agents it was given too; ours, in case it did not (destroy is idempotent).
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  /**
   * HeadObject's StorageClass (absent means STANDARD) and x-amz-restore
   * (`ongoing-request="true"` while thawing; `ongoing-request="false",
   * expiry-date="…"` once a readable copy exists). Intelligent-Tiering objects
   * in its archive tiers (ArchiveStatus) count as archived too.
   */
  async archiveState(handle: Handle): Promise<ArchiveState> {
    const key = this.keyOf(handle);
    let head;
    try {
      head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (e) {
      throw this.mapError(e, 'archive-state', key);
    }
    this.bucketSeen = true;
    return archiveStateFromHead(head.StorageClass, head.Restore, head.ArchiveStatus);
  }

  /** RestoreObject: 202 a thaw started, 200 a thawed copy exists (S3 extends its days), 409 RestoreAlreadyInProgress. */
  async requestThaw(handle: Handle, request: ThawRequest): Promise<ThawRequestOutcome> {
    const key = this.keyOf(handle);
    try {
      const out = await this.client.send(
        new RestoreObjectCommand({
          Bucket: this.bucket,
          Key: key,
          RestoreRequest: { Days: request.days, GlacierJobParameters: { Tier: request.tier } },
        }),
      );
      this.bucketSeen = true;
      return out.$metadata.httpStatusCode === 200 ? 'already-thawed' : 'requested';
    } catch (e) {
      if (s3ErrorName(e) === 'RestoreAlreadyInProgress') return 'in-progress';
      throw this.mapError(e, 'thaw', key);
    }
  }

  // --- Object Lock (versioned buckets): the calls src/core/backends/object-lock-backend.ts builds on.

  /** Is Object Lock on for the bucket (GetObjectLockConfiguration)? */
  async objectLockEnabled(): Promise<boolean> {
    try {
      const out = await this.client.send(new GetObjectLockConfigurationCommand({ Bucket: this.bucket }));
      this.bucketSeen = true;
      return out.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled';
    } catch (e) {
      if (s3ErrorName(e) === 'ObjectLockConfigurationNotFoundError') return false;
      throw this.mapError(e, 'object-lock', undefined);
    }
  }

  /**
   * Every version and delete marker under a kind, or of one object when
   * `handle` is given (ListObjectVersions): keys in order, newest first within
   * a key. Lock files are never versioned reads' business and are not listed.
   */
  async *listVersions(kind: FileKind, handle?: Handle): AsyncGenerator<ObjectVersion> {
    const base = `${this.root}${kind}/`;
    const prefix = handle === undefined ? (kind === 'config' ? `${this.root}config` : base) : this.keyOf(handle);
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectVersionsCommand({
            Bucket: this.bucket,
            Prefix: prefix,
            MaxKeys: this.options.listPageSize,
            ...(keyMarker === undefined ? {} : { KeyMarker: keyMarker }),
            ...(versionMarker === undefined ? {} : { VersionIdMarker: versionMarker }),
          }),
        );
      } catch (e) {
        throw this.mapError(e, 'list-versions', prefix);
      }
      this.bucketSeen = true;
      const entries = [
        ...(page.Versions ?? []).map((v) => ({ key: v.Key, versionId: v.VersionId, size: v.Size ?? 0, modified: v.LastModified, latest: v.IsLatest === true, deleteMarker: false })),
        ...(page.DeleteMarkers ?? []).map((m) => ({ key: m.Key, versionId: m.VersionId, size: 0, modified: m.LastModified, latest: m.IsLatest === true, deleteMarker: true })),
      ];
      // The SDK hands versions and markers back as two lists: put them back in S3's order.
      // Binary key order, as S3 lists keys; a key's versions must stay together across pages.
      entries.sort((a, b) => ((a.key ?? '') < (b.key ?? '') ? -1 : (a.key ?? '') > (b.key ?? '') ? 1 : (b.modified?.getTime() ?? 0) - (a.modified?.getTime() ?? 0)));
      for (const entry of entries) {
        if (entry.key === undefined || entry.versionId === undefined || entry.modified === undefined) continue;
        const name = kind === 'config' ? (entry.key === `${this.root}config` ? 'config' : undefined) : entry.key.startsWith(base) ? nameUnder(kind, entry.key.slice(base.length)) : undefined;
        if (name === undefined || (handle !== undefined && name !== handle.name)) continue;
        yield { name, versionId: entry.versionId, size: entry.size, modified: entry.modified, latest: entry.latest, deleteMarker: entry.deleteMarker };
      }
      const truncated = page.IsTruncated === true;
      keyMarker = truncated ? page.NextKeyMarker : undefined;
      versionMarker = truncated ? page.NextVersionIdMarker : undefined;
    } while (keyMarker !== undefined);
  }

  /** A version's retention (GetObjectRetention); undefined when it has none. */
  async retentionOf(handle: Handle, versionId: string): Promise<LockRetention | undefined> {
    const key = this.keyOf(handle);
    try {
      const out = await this.client.send(new GetObjectRetentionCommand({ Bucket: this.bucket, Key: key, VersionId: versionId }));
      this.bucketSeen = true;
      const { Mode: mode, RetainUntilDate: until } = out.Retention ?? {};
      return mode === undefined || until === undefined ? undefined : { mode, until };
    } catch (e) {
      if (s3ErrorName(e) === 'NoSuchObjectLockConfiguration') return undefined;
      throw this.mapError(e, 'get-retention', key);
    }
  }

  /** Sets a version's retain-until date (PutObjectRetention); S3 refuses to shorten it. */
  async setRetention(handle: Handle, versionId: string, retention: LockRetention): Promise<void> {
    const key = this.keyOf(handle);
    try {
      await this.client.send(
        new PutObjectRetentionCommand({
          Bucket: this.bucket,
          Key: key,
          VersionId: versionId,
          Retention: { Mode: retention.mode, RetainUntilDate: retention.until },
          // S3 wants a digest of the body here too.
          ChecksumAlgorithm: 'SHA256',
        }),
      );
      this.bucketSeen = true;
    } catch (e) {
      throw this.mapError(e, 'extend-retention', key);
    }
  }

  /** Deletes one version for good (DeleteObject with VersionId); a retained one is BACKEND_PERMISSION. */
  async removeVersion(handle: Handle, versionId: string): Promise<void> {
    const key = this.keyOf(handle);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key, VersionId: versionId }));
      this.bucketSeen = true;
    } catch (e) {
      const error = this.mapError(e, 'remove-version', key);
      if (error.code === 'BACKEND_NOT_FOUND' && error.details.bucketMissing !== true) return;
      throw error;
    }
  }

  /** The retention a new object of `kind` is written with; none for lock files, which must stay deletable. */
  private lockFor(kind: FileKind): LockRetention | undefined {
    const lock = this.options.objectLock;
    if (lock === undefined || !lockedKinds.has(kind)) return undefined;
    return { mode: lock.mode, until: retainUntil(lock, (this.options.now ?? (() => new Date()))()) };
  }

  private async requireObjectLock(): Promise<void> {
    if (await this.objectLockEnabled()) return;
    throw new LifeboatError(
      'USAGE',
      `create ${this.location}: the runbook asks for objectLock, but bucket "${this.bucket}" was made without Object Lock (S3 turns it on only when a bucket is created): use a new bucket made with Object Lock enabled, or let init create it`,
      { details: { op: 'create', bucket: this.bucket } },
    );
  }

  private keyOf(handle: Handle): string {
    return this.root + checkedObjectPath(handle);
  }

  private where(key: string | undefined): string {
    return key === undefined ? `s3://${this.bucket}` : `s3://${this.bucket}/${key}`;
  }

  /** PutObject or a multipart upload; resolves to the ETag the store answered with. */
  private async upload(key: string, data: Uint8Array, storageClass: string | undefined, lock: LockRetention | undefined): Promise<string | undefined> {
    const params = {
      Bucket: this.bucket,
      Key: key,
      Body: data,
      ContentType: 'application/octet-stream',
      ...(storageClass === undefined ? {} : { StorageClass: storageClass as StorageClass }),
      // S3 wants a digest of the body with Object Lock parameters (Content-MD5 or a checksum).
      ...(lock === undefined ? {} : { ObjectLockMode: lock.mode, ObjectLockRetainUntilDate: lock.until, ChecksumAlgorithm: 'SHA256' as const }),
    };
    try {
      if (data.length <= this.options.multipartThresholdBytes) {
        const result = await this.client.send(new PutObjectCommand({ ...params, ContentLength: data.length }));
        this.bucketSeen = true;
        return result.ETag;
      }
      // We abort a failed upload ourselves: lib-storage would throw the abort's
      // own error (a 405 from stores without AbortMultipartUpload, say) in place
      // of the failure that matters, turning a retryable reset into a permanent error.
      const upload = new Upload({
        client: this.client,
        params,
        partSize: this.options.partSizeBytes,
        queueSize: this.options.partConcurrency,
        leavePartsOnError: true,
      });
      try {
        const result = await upload.done();
        this.bucketSeen = true;
        return result.ETag;
      } catch (e) {
        await this.abortUpload(key, upload.uploadId);
        throw e;
      }
    } catch (e) {
      throw this.mapError(e, 'save', key);
    }
  }

  /** One PutObject whose body is a fresh stream of the file; the stream is closed whatever happens. */
  private async putStream(key: string, file: FileBody, storageClass: string | undefined): Promise<string | undefined> {
    const body = file.stream();
    try {
      const result = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentLength: file.size,
          ContentType: 'application/octet-stream',
          ...(storageClass === undefined ? {} : { StorageClass: storageClass as StorageClass }),
        }),
      );
      this.bucketSeen = true;
      return result.ETag;
    } catch (e) {
      throw this.mapError(e, 'save', key);
    } finally {
      body.destroy();
    }
  }

  /** Best effort: parts left behind cost storage, not correctness (see the class comment). */
  private async abortUpload(key: string, uploadId: string | undefined): Promise<void> {
    if (uploadId === undefined) return;
    await this.client
      .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }))
      .catch(() => undefined);
  }

  /** Size and ETag the store reports after a save; size undefined when the object is not there. */
  private async storedSize(key: string): Promise<{ size?: number; etag?: string }> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: head.ContentLength ?? 0, etag: head.ETag };
    } catch (e) {
      const error = this.mapError(e, 'save', key);
      if (error.code === 'BACKEND_NOT_FOUND') return {};
      throw error;
    }
  }

  /** HeadObject's size; a 404 is told apart into missing key and missing bucket. */
  private async sizeOf(key: string, op: string, versionId?: string): Promise<number> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key, ...(versionId === undefined ? {} : { VersionId: versionId }) }));
      this.bucketSeen = true;
      return head.ContentLength ?? 0;
    } catch (e) {
      const error = this.mapError(e, op, key);
      // HEAD answers carry no body, so S3 cannot say which of the two is missing.
      if (error.code === 'BACKEND_NOT_FOUND' && !this.bucketSeen && !(await this.bucketExists(op))) {
        throw this.bucketMissing(op);
      }
      throw error;
    }
  }

  private async bucketExists(op: string): Promise<boolean> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      this.bucketSeen = true;
      return true;
    } catch (e) {
      const error = this.mapError(e, op, undefined);
      if (error.code === 'BACKEND_NOT_FOUND') return false;
      throw error;
    }
  }

  private bucketMissing(op: string): LifeboatError {
    return new LifeboatError(
      'BACKEND_NOT_FOUND',
      `${op} ${this.location}: bucket "${this.bucket}" does not exist${this.endpointNote()} (check the bucket name and region, or run init to create it)`,
      { details: { op, bucket: this.bucket, bucketMissing: true } },
    );
  }

  private endpointNote(): string {
    const { endpoint } = this.options;
    return endpoint === undefined ? '' : ` at ${redactUrl(endpoint)}`;
  }

  /**
   * Reads a response body whole into a buffer of its own (safe to transfer to
   * a worker), never more than `announced` (Content-Length) or, without one,
   * `limit` bytes: past either it stops reading, drops the connection and
   * fails. `kind`: an unranged load, whose limit is its kind's maximum.
   */
  private async readBody(body: unknown, announced: number | undefined, limit: number, key: string, kind: FileKind | undefined): Promise<Buffer> {
    const where = this.where(key);
    const tooMuch = (received: number): LifeboatError => {
      discardBody(body);
      if (announced !== undefined) {
        return this.loadIo(key, `the store sent more than the ${announced} bytes it announced (at least ${received}); stopped reading`, { expected: announced, received });
      }
      if (kind !== undefined) return tooLargeError(where, kind, received, limit, true);
      return this.loadIo(key, `asked for ${limit} bytes, the store sent more (at least ${received}); stopped reading`, { expected: limit, received });
    };
    try {
      if (!(body instanceof Readable)) {
        // Not a Node stream (other runtimes' handlers): bounded only after the fact.
        const bytes = body === undefined ? new Uint8Array(0) : await (body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
        if (bytes.length > (announced ?? limit)) throw tooMuch(bytes.length);
        const out = Buffer.allocUnsafeSlow(bytes.length);
        out.set(bytes);
        if (announced !== undefined && out.length !== announced) throw shortBody(where, out.length, announced, this.bucket, key);
        return out;
      }
      const chunks: Buffer[] = [];
      let received = 0;
      const out = announced === undefined ? undefined : Buffer.allocUnsafeSlow(announced);
      for await (const chunk of body as AsyncIterable<Buffer>) {
        if (received + chunk.length > (announced ?? limit)) throw tooMuch(received + chunk.length);
        if (out === undefined) chunks.push(chunk);
        else chunk.copy(out, received);
        received += chunk.length;
      }
      if (out === undefined) {
        const whole = Buffer.allocUnsafeSlow(received);
        let at = 0;
        for (const chunk of chunks) at += chunk.copy(whole, at);
        return whole;
      }
      if (received !== out.length) throw shortBody(where, received, out.length, this.bucket, key);
      return out;
    } catch (e) {
      throw this.mapError(e, 'load', key);
    }
  }

  /** A permanent BACKEND_IO for an answer that breaks the rules of `load` (wrong offset or length). */
  private loadIo(key: string, what: string, sizes: { expected: number; received: number | undefined }): LifeboatError {
    return new LifeboatError('BACKEND_IO', `load ${this.where(key)}: ${what}`, {
      details: { op: 'load', bucket: this.bucket, key, ...sizes },
    });
  }

  private mapError(error: unknown, op: string, key: string | undefined): LifeboatError {
    return mapS3Error(error, { op, bucket: this.bucket, key, location: this.location });
  }
}

/** The name of a listed object within its kind, or undefined for a key that is not ours. */
function nameUnder(kind: FileKind, rest: string): string | undefined {
  if (kind !== 'data') return !rest.includes('/') && isValidName(kind, rest) ? rest : undefined;
  const match = /^([0-9a-f]{2})\/([^/]+)$/.exec(rest);
  const name = match?.[2];
  // A pack outside its own fan-out prefix could never be loaded by name.
  if (match === null || name === undefined || !name.startsWith(match[1] ?? '') || !isValidName('data', name)) return undefined;
  return name;
}

function parseContentRange(header: string | undefined): { start: number; total?: number } | undefined {
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header ?? '');
  if (match === null) return undefined;
  return { start: Number(match[1]), ...(match[3] === '*' ? {} : { total: Number(match[3]) }) };
}

/** Drops an answer's unread body: the connection is closed rather than drained (which would read what was refused). */
function discardBody(body: unknown): void {
  if (body instanceof Readable) body.destroy();
}

function shortBody(where: string, received: number, expected: number, bucket: string, key: string): LifeboatError {
  return unavailable(`load ${where}: the connection ended after ${received} of ${expected} bytes`, 'load', bucket, key);
}

function unavailable(message: string, op: string, bucket: string, key: string | undefined): LifeboatError {
  return new LifeboatError('BACKEND_UNAVAILABLE', message, { retryable: true, details: { op, bucket, key } });
}

/** Upload commands whose body SigV4 would hash (see unsignedPayloadOverTls). */
const uploadCommands = new Set(['PutObjectCommand', 'UploadPartCommand']);

/**
 * Before signing, marks upload bodies sent over https UNSIGNED-PAYLOAD: the
 * signer takes an x-amz-content-sha256 header already there instead of
 * hashing the body. Requests over http keep the hash.
 */
function addUnsignedPayloadOverTls(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { protocol?: string; headers?: Record<string, string> } | undefined;
      if (uploadCommands.has(context.commandName ?? '') && request?.protocol === 'https:' && request.headers !== undefined) {
        request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      }
      return next(args);
    },
    { step: 'build', name: 'lifeboatUnsignedPayloadOverTls' },
  );
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
