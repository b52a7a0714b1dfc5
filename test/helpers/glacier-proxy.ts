/**
 * A test double for S3 Glacier: a loopback HTTP proxy in front of s3rver that
 * answers like S3 does for objects stored in an archive storage class.
 *
 * Why a proxy: s3rver (3.x) has no archive semantics. What it does with a
 * storage class, checked in node_modules/s3rver/lib/models/object.js and
 * lib/routes.js:
 *   - it validates `x-amz-storage-class` on PUT (and multipart initiate) and
 *     keeps it as object metadata, so HEAD and GET answer it back in
 *     `x-amz-storage-class`;
 *   - ListObjects always says STANDARD;
 *   - it serves the bytes of a GLACIER or DEEP_ARCHIVE object like any other;
 *   - it has no RestoreObject: `POST /bucket/key?restore` is 405.
 * So the proxy takes an object's class from s3rver's own answers (the header
 * on HEAD and GET), which also covers objects written before the proxy was
 * started, and adds what S3 Glacier does on top:
 *
 *   GET (whole or ranged) of an archived, not-thawed object
 *       → 403 `InvalidObjectState` (the body s3rver sent is dropped)
 *   POST ?restore (`<Days>`, `<GlacierJobParameters><Tier>`)
 *       → 202 and a thaw starts, done after `thawDelayMs[tier]` real ms;
 *       → 409 `RestoreAlreadyInProgress` while thawing;
 *       → 200 when a thawed copy exists (its days start again, as on S3);
 *       → 403 `InvalidObjectState` for a class that needs no thaw; 404 for a missing key
 *   HEAD of an archived object
 *       → `x-amz-restore: ongoing-request="true"` while thawing,
 *         `ongoing-request="false", expiry-date="<RFC 1123>"` once thawed
 * A thawed copy expires `Days` × 24 h after the thaw completed, on the proxy's
 * clock: real time plus whatever `advance(ms)` added, so a test can let days
 * pass at once (S3 rounds expiry up to the next midnight UTC; this double does
 * not). Thaw delays are real milliseconds so that a client polling with real
 * sleeps sees the thaw finish; a test that needs a thaw that never finishes
 * sets a huge delay.
 *
 * Every request is recorded (method, key, S3 operation, status answered, and
 * for restores the tier and days asked for), so tests can count RestoreObject
 * calls. Everything else passes through unchanged; s3rver does not check SigV4
 * signatures, so forwarded requests stay valid.
 */
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type GlacierTier = 'Expedited' | 'Standard' | 'Bulk';

/** Classes whose objects are unreadable until thawed. */
export const glacierArchiveClasses: ReadonlySet<string> = new Set(['GLACIER', 'DEEP_ARCHIVE']);

export interface GlacierRequest {
  method: string;
  /** Object key (decoded), '' for bucket-level requests. */
  key: string;
  operation: 'GetObject' | 'HeadObject' | 'RestoreObject' | 'PutObject' | 'Other';
  /** Status the proxy answered (or relayed). */
  status?: number;
  /** RestoreObject only: what was asked for. */
  tier?: string;
  days?: number;
}

export interface ThawEntry {
  tier: GlacierTier;
  days: number;
  requestedAt: number;
  readyAt: number;
}

export interface GlacierProxyOptions {
  /** Real milliseconds from RestoreObject to readable, per tier (default 150 / 300 / 600). */
  thawDelayMs?: Partial<Record<GlacierTier, number>>;
}

export interface GlacierProxy {
  /** http://127.0.0.1:PORT — the S3 endpoint to give the client. */
  endpoint: string;
  /** Every request in arrival order. */
  readonly requests: GlacierRequest[];
  /** Changeable at any time; applies to thaws requested after the change. */
  readonly thawDelayMs: Record<GlacierTier, number>;
  /** The RestoreObject calls seen (answered 202, 200 and 409 alike). */
  restoreRequests(): GlacierRequest[];
  /** Moves the proxy's clock forward (thawed copies expire after their days). */
  advance(ms: number): void;
  /** The proxy's clock, ms since the epoch. */
  now(): number;
  /** Archive state of a key as the proxy sees it right now. */
  thawStateOf(key: string): 'none' | 'thawing' | 'thawed';
  stop(): Promise<void>;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'expect']);

export async function startGlacierProxy(upstream: string, options: GlacierProxyOptions = {}): Promise<GlacierProxy> {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const sockets = new Set<Socket>();
  const thaws = new Map<string, ThawEntry>();
  let offsetMs = 0;
  const now = () => Date.now() + offsetMs;
  const requests: GlacierRequest[] = [];

  /** The thaw of `key` as of now; an expired copy is forgotten (the object is archived again). */
  function thawOf(key: string): { entry: ThawEntry; state: 'thawing' | 'thawed'; expiresAt: number } | undefined {
    const entry = thaws.get(key);
    if (entry === undefined) return undefined;
    const t = now();
    const expiresAt = entry.readyAt + entry.days * DAY_MS;
    if (t >= expiresAt) {
      thaws.delete(key);
      return undefined;
    }
    return { entry, state: t < entry.readyAt ? 'thawing' : 'thawed', expiresAt };
  }

  const proxy: GlacierProxy = {
    endpoint: '',
    requests,
    thawDelayMs: { Expedited: 150, Standard: 300, Bulk: 600, ...options.thawDelayMs },
    restoreRequests: () => requests.filter((r) => r.operation === 'RestoreObject'),
    advance: (ms) => {
      offsetMs += ms;
    },
    now,
    thawStateOf: (key) => thawOf(key)?.state ?? 'none',
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };

  const server = createServer({ keepAlive: true }, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    // Path-style addressing: /bucket/key…
    const slash = url.pathname.indexOf('/', 1);
    const key = slash < 0 ? '' : decodeURIComponent(url.pathname.slice(slash + 1));
    const method = req.method ?? 'GET';
    const isObject = key !== '' && !url.searchParams.has('uploads') && !url.searchParams.has('uploadId');
    const operation: GlacierRequest['operation'] =
      !isObject ? 'Other'
      : method === 'POST' && url.searchParams.has('restore') ? 'RestoreObject'
      : method === 'GET' ? 'GetObject'
      : method === 'HEAD' ? 'HeadObject'
      : method === 'PUT' ? 'PutObject'
      : 'Other';
    const record: GlacierRequest = { method, key, operation };
    requests.push(record);
    res.on('finish', () => {
      record.status = res.statusCode;
    });
    if (operation === 'RestoreObject') void restore(req, res, key, record);
    else forward(req, res, key, operation);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  function sendError(res: ServerResponse, status: number, code: string, message: string): void {
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>glacier-proxy</RequestId></Error>`;
    res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  /** HEAD of the object at s3rver: its status and storage class. */
  function headUpstream(path: string, headers: IncomingHttpHeaders): Promise<{ status: number; storageClass: string }> {
    return new Promise((resolve, reject) => {
      // The POST's body headers must not travel with a bodyless HEAD: s3rver would wait for a body that never comes.
      const headHeaders = Object.fromEntries(Object.entries(forwardable(headers)).filter(([name]) => !name.startsWith('content-')));
      const upstreamReq = httpRequest({ host: target.hostname, port: target.port, method: 'HEAD', path, headers: headHeaders, agent }, (upstreamRes) => {
        upstreamRes.resume();
        resolve({ status: upstreamRes.statusCode ?? 502, storageClass: String(upstreamRes.headers['x-amz-storage-class'] ?? 'STANDARD') });
      });
      upstreamReq.on('error', reject);
      upstreamReq.end();
    });
  }

  async function restore(req: IncomingMessage, res: ServerResponse, key: string, record: GlacierRequest): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const days = Number(/<Days>\s*(\d+)\s*<\/Days>/.exec(body)?.[1] ?? NaN);
    const tier = (/<Tier>\s*(\w+)\s*<\/Tier>/.exec(body)?.[1] ?? 'Standard') as GlacierTier;
    record.tier = tier;
    record.days = days;
    if (!Number.isInteger(days) || days < 1) return sendError(res, 400, 'MalformedXML', 'RestoreRequest needs Days of at least 1');
    if (!(tier in proxy.thawDelayMs)) return sendError(res, 400, 'MalformedXML', `unknown retrieval tier ${tier}`);
    const path = (req.url ?? '/').split('?')[0]!;
    let head;
    try {
      head = await headUpstream(path, req.headers);
    } catch {
      return sendError(res, 502, 'InternalError', 'upstream unreachable');
    }
    if (head.status === 404) return sendError(res, 404, 'NoSuchKey', 'The specified key does not exist.');
    if (!glacierArchiveClasses.has(head.storageClass)) {
      return sendError(res, 403, 'InvalidObjectState', `Restore is not allowed for the object's current storage class (${head.storageClass})`);
    }
    const current = thawOf(key);
    if (current?.state === 'thawing') return sendError(res, 409, 'RestoreAlreadyInProgress', 'Object restore is already in progress');
    if (current?.state === 'thawed') {
      // S3 answers 200 and counts the new Days from now.
      current.entry.days = days;
      current.entry.readyAt = now();
      res.writeHead(200, { 'content-length': 0 });
      res.end();
      return;
    }
    const t = now();
    thaws.set(key, { tier, days, requestedAt: t, readyAt: t + proxy.thawDelayMs[tier] });
    res.writeHead(202, { 'content-length': 0 });
    res.end();
  }

  function forward(req: IncomingMessage, res: ServerResponse, key: string, operation: GlacierRequest['operation']): void {
    const upstreamReq = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: forwardable(req.headers), agent });
    upstreamReq.on('error', () => req.socket.destroy());
    req.on('error', () => upstreamReq.destroy());
    req.pipe(upstreamReq);
    upstreamReq.on('response', (upstreamRes) => {
      const storageClass = String(upstreamRes.headers['x-amz-storage-class'] ?? 'STANDARD');
      const archived = glacierArchiveClasses.has(storageClass) && (upstreamRes.statusCode ?? 500) < 300;
      const thaw = archived ? thawOf(key) : undefined;
      if (archived && operation === 'GetObject' && thaw?.state !== 'thawed') {
        upstreamRes.resume();
        sendError(res, 403, 'InvalidObjectState', 'The operation is not valid for the object\'s storage class');
        return;
      }
      const headers: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(upstreamRes.headers)) {
        if (value !== undefined && !hopByHop.has(name)) headers[name] = value;
      }
      if (archived && thaw !== undefined && (operation === 'HeadObject' || operation === 'GetObject')) {
        headers['x-amz-restore'] =
          thaw.state === 'thawing' ? 'ongoing-request="true"' : `ongoing-request="false", expiry-date="${new Date(thaw.expiresAt).toUTCString()}"`;
      }
      res.writeHead(upstreamRes.statusCode ?? 502, headers);
      upstreamRes.pipe(res);
      upstreamRes.on('error', () => req.socket.destroy());
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}

function forwardable(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !hopByHop.has(name)) out[name] = value;
  }
  return out;
}
