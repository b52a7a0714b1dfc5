/**
 * A test double for S3 Object Lock: a small real S3 server on 127.0.0.1 that
 * our S3 backend talks to through the real @aws-sdk/client-s3.
 *
 * Why a double: s3rver (3.x) has no versioning and no Object Lock. Checked in
 * node_modules/s3rver/lib/routes.js: `?versioning` and `?object-lock` on a
 * bucket and `?retention` / `?legal-hold` on an object answer 501
 * NotImplemented, `?versions` is not routed at all; a DELETE removes the
 * object's file and a PUT overwrites it, whatever `x-amz-object-lock-*`
 * headers it carries. A proxy in front of it could
 * not add versions (s3rver keeps one file per key), so this double is a
 * self-contained store. It keeps the objects in memory rather than in a temp
 * folder: the objects are a few KiB each, and its state lives in the test
 * process, which outlives a client process a test SIGKILLs.
 *
 * What it speaks, path-style only (`/bucket/key`), as S3 does:
 *   CreateBucket (`x-amz-bucket-object-lock-enabled: true` turns on Object
 *     Lock and versioning; without it the bucket is unversioned), HeadBucket,
 *     GetObjectLockConfiguration (404 ObjectLockConfigurationNotFoundError
 *     without lock);
 *   PutObject: a new version per PUT in a lock bucket; `x-amz-object-lock-mode`
 *     + `x-amz-object-lock-retain-until-date` set the version's retention and,
 *     as on AWS, need Content-MD5 or an `x-amz-checksum-*` header, which is
 *     checked against the body (md5, sha1, sha256, crc32; crc32c and crc64nvme
 *     are taken unchecked); aws-chunked bodies and multipart uploads are
 *     501 NotImplemented (the tests write objects far below the multipart
 *     threshold);
 *   GetObject / HeadObject of the current version or `?versionId` (Range
 *     honoured; a current delete marker is 404 NoSuchKey with
 *     `x-amz-delete-marker: true`; a delete marker by versionId is 405);
 *   DeleteObject without versionId: a delete marker in a lock bucket (always
 *     allowed, as on S3: retention guards versions, not names); with
 *     versionId: 403 AccessDenied while the version is retained (GOVERNANCE
 *     gives way to `x-amz-bypass-governance-retention: true`), else it is
 *     gone for good;
 *   ListObjectsV2 (current versions that are not delete markers) and
 *   ListObjectVersions (key order, newest first per key, with key-marker /
 *     version-id-marker paging);
 *   PutObjectRetention: extend only. A date before the version's current one
 *     is 403 AccessDenied in COMPLIANCE, and in GOVERNANCE unless bypassed;
 *     a date in the past is 400 InvalidArgument. GetObjectRetention (404
 *     NoSuchObjectLockConfiguration for a version without one).
 * "Now" is the double's clock: real time plus what `advance(ms)` added, so a
 * test lets retention run out at once. Version times are strictly increasing.
 *
 * Credentials: the access key id is read from the Authorization header; the
 * signature is not checked (s3rver does not either). A credential may be given
 * the list of IAM actions it is allowed (`allow`), so a test can run with the
 * backup-only policy of docs/object-lock.md and see what it refuses; a
 * credential without `allow` may do everything. Every request is recorded.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { crc32 } from 'node:zlib';

export type LockMode = 'GOVERNANCE' | 'COMPLIANCE';

export interface StoredVersion {
  versionId: string;
  deleteMarker: boolean;
  body: Buffer;
  modified: Date;
  etag: string;
  mode?: LockMode;
  retainUntil?: Date;
}

interface Bucket {
  lock: boolean;
  objects: Map<string, StoredVersion[]>; // newest first
}

export interface LockCredential {
  accessKeyId: string;
  secretAccessKey: string;
  /**
   * IAM actions this key may use (`s3:PutObject`, …), each on every key or,
   * written `s3:DeleteObject@repo/locks/`, only on keys under that prefix; absent: all.
   */
  allow?: readonly string[];
}

export interface LockRequest {
  method: string;
  key: string;
  action: string;
  accessKeyId: string;
  status: number;
  versionId?: string;
}

export interface ObjectLockS3 {
  endpoint: string;
  requests: LockRequest[];
  /** Move the double's clock forward. */
  advance(ms: number): void;
  now(): Date;
  /** Every version of a key, newest first (a copy). */
  versions(bucket: string, key: string): StoredVersion[];
  /** Every key in a bucket that has any version. */
  keys(bucket: string): string[];
  createBucket(name: string, lock: boolean): void;
  close(): Promise<void>;
}

/** The actions of docs/object-lock.md's backup-only policy. */
export const backupOnlyActions = [
  's3:PutObject',
  's3:GetObject',
  's3:ListBucket',
  's3:GetObjectVersion',
  's3:ListBucketVersions',
  's3:PutObjectRetention',
  's3:GetObjectRetention',
  's3:GetBucketObjectLockConfiguration',
] as const;

class S3Fault extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface ObjectLockS3Options {
  credentials: readonly LockCredential[];
  /** Sees each request once it is parsed, before it is answered (a test kills a client at the Nth of a kind). */
  onRequest?: (request: LockRequest) => void;
}

export async function startObjectLockS3(options: ObjectLockS3Options): Promise<ObjectLockS3> {
  const buckets = new Map<string, Bucket>();
  const requests: LockRequest[] = [];
  let offsetMs = 0;
  let lastVersionMs = 0;
  const now = (): Date => new Date(Date.now() + offsetMs);
  const versionTime = (): Date => {
    lastVersionMs = Math.max(now().getTime(), lastVersionMs + 1);
    return new Date(lastVersionMs);
  };
  const credentialOf = (req: IncomingMessage): LockCredential => {
    const id = /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const found = options.credentials.find((c) => c.accessKeyId === id);
    if (!found) throw new S3Fault(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
    return found;
  };

  async function handle(req: IncomingMessage, res: ServerResponse, record: LockRequest): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const [, bucketName = '', ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    record.key = key;
    const q = url.searchParams;
    const versionId = q.get('versionId') ?? undefined;
    record.versionId = versionId;
    const body = await readAll(req);
    const method = req.method ?? 'GET';
    const action = actionOf(method, key, q);
    record.action = action;
    const credential = credentialOf(req);
    record.accessKeyId = credential.accessKeyId;
    options.onRequest?.(record);
    if (credential.allow && !credential.allow.some((a) => a === action || (a.startsWith(`${action}@`) && key.startsWith(a.slice(action.length + 1))))) throw new S3Fault(403, 'AccessDenied', `Access Denied (${action} is not allowed for ${credential.accessKeyId})`);

    if (key === '') {
      if (action === 's3:CreateBucket') {
        if (buckets.has(bucketName)) throw new S3Fault(409, 'BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.');
        buckets.set(bucketName, { lock: req.headers['x-amz-bucket-object-lock-enabled'] === 'true', objects: new Map() });
        return send(res, 200, '', { location: `/${bucketName}` });
      }
      const bucket = bucketOf(bucketName);
      if (method === 'HEAD') return send(res, 200, '', { 'x-amz-bucket-region': 'us-east-1' });
      if (action === 's3:GetBucketObjectLockConfiguration') {
        if (!bucket.lock) throw new S3Fault(404, 'ObjectLockConfigurationNotFoundError', 'Object Lock configuration does not exist for this bucket');
        return sendXml(res, '<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>');
      }
      if (action === 's3:ListBucketVersions') return sendXml(res, listVersions(bucketName, bucket, q));
      if (action === 's3:ListBucket' && q.get('list-type') === '2') return sendXml(res, listObjects(bucketName, bucket, q));
      throw new S3Fault(501, 'NotImplemented', `${method} ${url.search} on a bucket is not implemented by the Object Lock double`);
    }

    const bucket = bucketOf(bucketName);
    const versions = bucket.objects.get(key) ?? [];
    if (q.has('uploads') || q.has('uploadId')) throw new S3Fault(501, 'NotImplemented', 'multipart uploads are not implemented by the Object Lock double');
    if (q.has('retention')) {
      const version = pick(versions, versionId, key);
      if (method === 'GET') {
        if (version.retainUntil === undefined) throw new S3Fault(404, 'NoSuchObjectLockConfiguration', 'The specified object does not have a ObjectLock configuration');
        return sendXml(res, `<Retention><Mode>${version.mode}</Mode><RetainUntilDate>${version.retainUntil.toISOString()}</RetainUntilDate></Retention>`);
      }
      requireChecksum(req, body, 'PutObjectRetention');
      const text = body.toString('utf8');
      const mode = /<Mode>(GOVERNANCE|COMPLIANCE)<\/Mode>/.exec(text)?.[1] as LockMode | undefined;
      const until = new Date(/<RetainUntilDate>([^<]+)<\/RetainUntilDate>/.exec(text)?.[1] ?? 'x');
      if (mode === undefined || Number.isNaN(until.getTime())) throw new S3Fault(400, 'MalformedXML', 'The XML you provided was not well-formed');
      if (until.getTime() <= now().getTime()) throw new S3Fault(400, 'InvalidArgument', 'The retain until date must be in the future!');
      const bypass = req.headers['x-amz-bypass-governance-retention'] === 'true';
      const locked = version.retainUntil !== undefined && version.retainUntil.getTime() > now().getTime();
      const shortens = locked && (until.getTime() < version.retainUntil!.getTime() || (version.mode === 'COMPLIANCE' && mode === 'GOVERNANCE'));
      if (shortens && (version.mode === 'COMPLIANCE' || !bypass)) throw new S3Fault(403, 'AccessDenied', 'Access Denied because object protected by object lock.');
      version.mode = mode;
      version.retainUntil = until;
      return send(res, 200, '', { 'x-amz-version-id': version.versionId });
    }
    if (method === 'PUT') {
      if (req.headers['content-encoding']?.includes('aws-chunked') === true || String(req.headers['x-amz-content-sha256'] ?? '').startsWith('STREAMING-')) {
        throw new S3Fault(501, 'NotImplemented', 'aws-chunked bodies are not implemented by the Object Lock double');
      }
      const modeHeader = req.headers['x-amz-object-lock-mode'] as string | undefined;
      const untilHeader = req.headers['x-amz-object-lock-retain-until-date'] as string | undefined;
      const locking = modeHeader !== undefined || untilHeader !== undefined;
      if (locking && !bucket.lock) throw new S3Fault(400, 'InvalidRequest', 'Bucket is missing Object Lock Configuration');
      if (locking) requireChecksum(req, body, 'PutObject with Object Lock parameters');
      else checkChecksums(req, body);
      let mode: LockMode | undefined;
      let retainUntil: Date | undefined;
      if (locking) {
        if (modeHeader !== 'GOVERNANCE' && modeHeader !== 'COMPLIANCE') throw new S3Fault(400, 'InvalidArgument', `Unknown wormMode directive: ${String(modeHeader)}`);
        retainUntil = new Date(untilHeader ?? 'x');
        if (Number.isNaN(retainUntil.getTime()) || retainUntil.getTime() <= now().getTime()) throw new S3Fault(400, 'InvalidArgument', 'The retain until date must be in the future!');
        mode = modeHeader;
      }
      const version: StoredVersion = {
        versionId: bucket.lock ? randomBytes(16).toString('hex') : 'null',
        deleteMarker: false,
        body,
        modified: versionTime(),
        etag: `"${createHash('md5').update(body).digest('hex')}"`,
        ...(mode === undefined ? {} : { mode, retainUntil }),
      };
      bucket.objects.set(key, bucket.lock ? [version, ...versions] : [version]);
      return send(res, 200, '', { etag: version.etag, ...(bucket.lock ? { 'x-amz-version-id': version.versionId } : {}) });
    }
    if (method === 'DELETE') {
      if (versionId === undefined) {
        if (!bucket.lock) {
          bucket.objects.delete(key);
          return send(res, 204, '');
        }
        const marker: StoredVersion = { versionId: randomBytes(16).toString('hex'), deleteMarker: true, body: Buffer.alloc(0), modified: versionTime(), etag: '' };
        bucket.objects.set(key, [marker, ...versions]);
        return send(res, 204, '', { 'x-amz-delete-marker': 'true', 'x-amz-version-id': marker.versionId });
      }
      const version = versions.find((v) => v.versionId === versionId);
      if (!version) return send(res, 204, '');
      const retained = version.retainUntil !== undefined && version.retainUntil.getTime() > now().getTime();
      const bypass = req.headers['x-amz-bypass-governance-retention'] === 'true';
      if (retained && (version.mode === 'COMPLIANCE' || !bypass)) throw new S3Fault(403, 'AccessDenied', 'Access Denied because object protected by object lock.');
      const left = versions.filter((v) => v !== version);
      if (left.length === 0) bucket.objects.delete(key);
      else bucket.objects.set(key, left);
      return send(res, 204, '', { 'x-amz-version-id': versionId, ...(version.deleteMarker ? { 'x-amz-delete-marker': 'true' } : {}) });
    }
    if (method === 'GET' || method === 'HEAD') {
      const version = pick(versions, versionId, key);
      if (version.deleteMarker) {
        if (versionId !== undefined) throw new S3Fault(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.', { 'x-amz-delete-marker': 'true' });
        throw new S3Fault(404, 'NoSuchKey', 'The specified key does not exist.', { 'x-amz-delete-marker': 'true' });
      }
      const headers: Record<string, string> = {
        etag: version.etag,
        'last-modified': version.modified.toUTCString(),
        'content-type': 'application/octet-stream',
        'accept-ranges': 'bytes',
        ...(bucket.lock ? { 'x-amz-version-id': version.versionId } : {}),
        ...(version.retainUntil === undefined ? {} : { 'x-amz-object-lock-mode': version.mode!, 'x-amz-object-lock-retain-until-date': version.retainUntil.toISOString() }),
      };
      const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      if (range && method === 'GET') {
        const start = Number(range[1]);
        const end = Math.min(Number(range[2]), version.body.length - 1);
        if (start >= version.body.length) throw new S3Fault(416, 'InvalidRange', 'The requested range is not satisfiable');
        return send(res, 206, version.body.subarray(start, end + 1), { ...headers, 'content-range': `bytes ${start}-${end}/${version.body.length}` });
      }
      return send(res, 200, method === 'HEAD' ? '' : version.body, { ...headers, 'content-length': String(version.body.length) });
    }
    throw new S3Fault(501, 'NotImplemented', `${method} is not implemented by the Object Lock double`);
  }

  function bucketOf(name: string): Bucket {
    const bucket = buckets.get(name);
    if (!bucket) throw new S3Fault(404, 'NoSuchBucket', 'The specified bucket does not exist');
    return bucket;
  }

  function pick(versions: StoredVersion[], versionId: string | undefined, key: string): StoredVersion {
    const version = versionId === undefined ? versions[0] : versions.find((v) => v.versionId === versionId);
    if (!version) {
      if (versionId !== undefined) throw new S3Fault(404, 'NoSuchVersion', `The specified version does not exist (${key} ${versionId}).`);
      throw new S3Fault(404, 'NoSuchKey', 'The specified key does not exist.');
    }
    return version;
  }

  const server = createServer((req, res) => {
    const record: LockRequest = { method: req.method ?? '', key: '', action: '', accessKeyId: '', status: 0 };
    requests.push(record);
    handle(req, res, record).then(
      () => (record.status = res.statusCode),
      (e: unknown) => {
        const fault = e instanceof S3Fault ? e : new S3Fault(500, 'InternalError', String(e));
        record.status = fault.status;
        const xml = req.method === 'HEAD' ? '' : `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${fault.code}</Code><Message>${escapeXml(fault.message)}</Message><RequestId>double</RequestId></Error>`;
        send(res, fault.status, xml, { 'content-type': 'application/xml', ...fault.headers });
      },
    );
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    advance: (ms) => {
      offsetMs += ms;
    },
    now,
    versions: (bucket, key) => (buckets.get(bucket)?.objects.get(key) ?? []).map((v) => ({ ...v })),
    keys: (bucket) => [...(buckets.get(bucket)?.objects.keys() ?? [])].sort(),
    createBucket: (name, lock) => {
      buckets.set(name, { lock, objects: new Map() });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };

  function listObjects(name: string, bucket: Bucket, q: URLSearchParams): string {
    const prefix = q.get('prefix') ?? '';
    const max = Number(q.get('max-keys') ?? 1000);
    const after = q.get('continuation-token') === null ? (q.get('start-after') ?? '') : Buffer.from(q.get('continuation-token')!, 'base64').toString('utf8');
    const keys = [...bucket.objects.keys()].filter((k) => k.startsWith(prefix) && k > after && bucket.objects.get(k)?.[0]?.deleteMarker === false).sort();
    const page = keys.slice(0, max);
    const truncated = keys.length > page.length;
    const contents = page
      .map((k) => {
        const v = bucket.objects.get(k)![0]!;
        return `<Contents><Key>${escapeXml(k)}</Key><LastModified>${v.modified.toISOString()}</LastModified><ETag>${escapeXml(v.etag)}</ETag><Size>${v.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
      })
      .join('');
    const next = truncated ? `<NextContinuationToken>${Buffer.from(page.at(-1)!).toString('base64')}</NextContinuationToken>` : '';
    return `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${name}</Name><Prefix>${escapeXml(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${contents}${next}</ListBucketResult>`;
  }

  function listVersions(name: string, bucket: Bucket, q: URLSearchParams): string {
    const prefix = q.get('prefix') ?? '';
    const max = Number(q.get('max-keys') ?? 1000);
    const keyMarker = q.get('key-marker') ?? '';
    const versionMarker = q.get('version-id-marker') ?? '';
    const entries: { key: string; version: StoredVersion; latest: boolean }[] = [];
    for (const key of [...bucket.objects.keys()].filter((k) => k.startsWith(prefix)).sort()) {
      bucket.objects.get(key)!.forEach((version, i) => entries.push({ key, version, latest: i === 0 }));
    }
    let start = 0;
    if (keyMarker !== '') {
      const at = versionMarker === '' ? -1 : entries.findIndex((e) => e.key === keyMarker && e.version.versionId === versionMarker);
      start = at >= 0 ? at + 1 : entries.findIndex((e) => e.key > keyMarker);
      if (start < 0) start = entries.length;
    }
    const page = entries.slice(start, start + max);
    const truncated = start + page.length < entries.length;
    const items = page
      .map(({ key, version, latest }) => {
        const common = `<Key>${escapeXml(key)}</Key><VersionId>${version.versionId}</VersionId><IsLatest>${latest}</IsLatest><LastModified>${version.modified.toISOString()}</LastModified>`;
        return version.deleteMarker ? `<DeleteMarker>${common}</DeleteMarker>` : `<Version>${common}<ETag>${escapeXml(version.etag)}</ETag><Size>${version.body.length}</Size><StorageClass>STANDARD</StorageClass></Version>`;
      })
      .join('');
    const last = page.at(-1);
    const next = truncated && last ? `<NextKeyMarker>${escapeXml(last.key)}</NextKeyMarker><NextVersionIdMarker>${last.version.versionId}</NextVersionIdMarker>` : '';
    return `<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${name}</Name><Prefix>${escapeXml(prefix)}</Prefix><KeyMarker>${escapeXml(keyMarker)}</KeyMarker><VersionIdMarker>${versionMarker}</VersionIdMarker><MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${items}${next}</ListVersionsResult>`;
  }
}

/** The IAM action a request needs (what `allow` is checked against). */
function actionOf(method: string, key: string, q: URLSearchParams): string {
  const versioned = q.has('versionId');
  if (key === '') {
    if (method === 'PUT') return 's3:CreateBucket';
    if (q.has('object-lock')) return 's3:GetBucketObjectLockConfiguration';
    if (q.has('versions')) return 's3:ListBucketVersions';
    return 's3:ListBucket';
  }
  if (q.has('retention')) return method === 'GET' ? 's3:GetObjectRetention' : 's3:PutObjectRetention';
  if (method === 'PUT' || method === 'POST') return 's3:PutObject';
  if (method === 'DELETE') return versioned ? 's3:DeleteObjectVersion' : 's3:DeleteObject';
  return versioned ? 's3:GetObjectVersion' : 's3:GetObject';
}

/** Object Lock writes need a digest of the body, as on AWS; whichever is sent must match. */
function requireChecksum(req: IncomingMessage, body: Buffer, what: string): void {
  const present = Object.keys(req.headers).some((h) => h === 'content-md5' || (h.startsWith('x-amz-checksum-') && h !== 'x-amz-checksum-mode'));
  if (!present) throw new S3Fault(400, 'InvalidRequest', `Content-MD5 OR x-amz-checksum- HTTP header is required for ${what}`);
  checkChecksums(req, body);
}

function checkChecksums(req: IncomingMessage, body: Buffer): void {
  const digests: Record<string, () => string> = {
    'content-md5': () => createHash('md5').update(body).digest('base64'),
    'x-amz-checksum-sha256': () => createHash('sha256').update(body).digest('base64'),
    'x-amz-checksum-sha1': () => createHash('sha1').update(body).digest('base64'),
    'x-amz-checksum-crc32': () => {
      const out = Buffer.alloc(4);
      out.writeUInt32BE(crc32(body));
      return out.toString('base64');
    },
  };
  for (const [header, digest] of Object.entries(digests)) {
    const sent = req.headers[header];
    if (typeof sent === 'string' && sent !== digest()) throw new S3Fault(400, 'BadDigest', `The ${header} you specified did not match what we received.`);
  }
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string> = {}): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { 'x-amz-request-id': 'double', ...(headers['content-length'] === undefined ? { 'content-length': String(bytes.length) } : {}), ...headers });
  res.end(bytes);
}

function sendXml(res: ServerResponse, xml: string): void {
  send(res, 200, `<?xml version="1.0" encoding="UTF-8"?>${xml}`, { 'content-type': 'application/xml' });
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
