/**
 * A loopback HTTP proxy that sits between an S3 client and an S3 server
 * (s3rver) and misbehaves on purpose: it drops connections in the middle of a
 * request or response body, answers 500 InternalError or 503 SlowDown, stalls
 * (holds the connection and sends nothing more), or forwards only part of an
 * upload and passes on the server's 200 (a store that lies about what it
 * kept); or, as a broken or hostile store would, ignores a download's range or
 * sends more body than asked for or announced. Which request gets which fault
 * is decided by a plan: a schedule by request number, a seeded random draw, or
 * any function.
 *
 * It speaks plain HTTP/1.1 to both sides and rewrites nothing but hop-by-hop
 * headers (and Content-Length for `truncate-upload` and `oversize-response`,
 * Range for `ignore-range`); s3rver does not check SigV4 signatures, so the
 * forwarded requests stay valid.
 */
import { Agent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type ProxyFault =
  /** Forward untouched. */
  | { type: 'pass' }
  /** Forward the first `afterBytes` bytes of the request body, then cut both connections. */
  | { type: 'drop-request'; afterBytes: number }
  /** Forward the response's first `afterBytes` body bytes, then cut both connections. */
  | { type: 'drop-response'; afterBytes: number }
  /** Read the request body, then answer this status with an S3 error document (the server never sees it). */
  | { type: 'status'; status: number; code: string }
  /**
   * Send nothing more after `afterResponseBytes` response body bytes (default:
   * no response at all) and hold the connection until the client gives up.
   */
  | { type: 'stall'; afterResponseBytes?: number }
  /** Forward only the first `keepBytes` bytes of the upload (with a matching Content-Length) and relay the server's answer. */
  | { type: 'truncate-upload'; keepBytes: number }
  /** Forward the request without its Range header: the server answers 200 with the whole object. */
  | { type: 'ignore-range' }
  /**
   * Relay the server's answer, then `extraBytes` more body bytes (zeros, made
   * only as fast as the client reads them; counted in `stats.extraBytesSent`).
   * `contentLength`: `announce` sends a Content-Length that covers them,
   * `omit` sends none (a chunked body), `keep` keeps the server's and sends
   * them anyway, after the body it announced.
   */
  | { type: 'oversize-response'; extraBytes: number; contentLength: 'announce' | 'omit' | 'keep' };

export type ProxyFaultType = ProxyFault['type'];

export interface ProxyRequest {
  /** 1-based, in arrival order. */
  seq: number;
  method: string;
  /** Path and query as sent, e.g. `/bucket/prefix/data/ab/abcd?partNumber=1&uploadId=…`. */
  url: string;
  /** The request's Content-Length (0 when absent). */
  bodyBytes: number;
}

/** Decides the fault for one request; undefined means pass. */
export type FaultPlan = (request: ProxyRequest) => ProxyFault | undefined;

export interface FlakyProxy {
  /** http://127.0.0.1:PORT — give this to the S3 client as its endpoint. */
  endpoint: string;
  /** Replace the plan at any time (e.g. heal the network mid-test). */
  plan: FaultPlan;
  /**
   * Called when the server answered a forwarded request (its status), before the answer goes on
   * to the client. Unlike the plan, which sees every request that arrives, this sees only those
   * the server took: a request the proxy could not forward (a stale kept-alive socket to the
   * server, reset) and the client sent again is seen by the plan twice but answered here once.
   */
  onServerResponse?: (request: ProxyRequest, status: number) => void;
  /**
   * Requests seen and faults injected, by type; `extraBytesSent`: bytes of
   * `oversize-response` bodies written to clients (an upper bound of what they
   * received: a client that stops reading stops it, after the socket buffers fill).
   */
  readonly stats: { requests: number; faults: Record<ProxyFaultType, number>; extraBytesSent: number };
  /** Zeroes the counters (request numbers for `scheduledFaults` start again at 1). */
  resetStats(): void;
  stop(): Promise<void>;
}

/** Faults by request number (1-based); every other request passes. */
export function scheduledFaults(schedule: Record<number, ProxyFault>): FaultPlan {
  return (request) => schedule[request.seq];
}

export interface RandomFaultRule {
  /** Chance in [0, 1] that a matching request gets this fault. */
  probability: number;
  /** Makes the fault for a request (so drop points can depend on its size). */
  fault: (request: ProxyRequest, random: () => number) => ProxyFault;
  /** Which requests the rule may hit (default: all). */
  when?: (request: ProxyRequest) => boolean;
}

/**
 * Each request draws once; the rules share the unit interval in order, so a
 * request gets at most one fault. Pass a seeded `random` for a repeatable run.
 */
export function randomFaults(rules: RandomFaultRule[], random: () => number): FaultPlan {
  return (request) => {
    const draw = random();
    let edge = 0;
    for (const rule of rules) {
      if (rule.when !== undefined && !rule.when(request)) continue;
      edge += rule.probability;
      if (draw < edge) return rule.fault(request, random);
    }
    return undefined;
  };
}

/** Several plans in order; the first that names a fault wins. */
export function firstFault(...plans: FaultPlan[]): FaultPlan {
  return (request) => {
    for (const plan of plans) {
      const fault = plan(request);
      if (fault !== undefined) return fault;
    }
    return undefined;
  };
}

/** A small, fast, seedable PRNG (mulberry32) for repeatable fault plans. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'expect']);

export async function startFlakyProxy(upstream: string, plan: FaultPlan = () => undefined): Promise<FlakyProxy> {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const sockets = new Set<Socket>();
  const faults: Record<ProxyFaultType, number> = {
    pass: 0,
    'drop-request': 0,
    'drop-response': 0,
    status: 0,
    stall: 0,
    'truncate-upload': 0,
    'ignore-range': 0,
    'oversize-response': 0,
  };
  const proxy: FlakyProxy = {
    endpoint: '',
    plan,
    stats: { requests: 0, faults, extraBytesSent: 0 },
    resetStats: () => {
      proxy.stats.requests = 0;
      proxy.stats.extraBytesSent = 0;
      for (const type of Object.keys(faults) as ProxyFaultType[]) faults[type] = 0;
    },
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };

  const server = createServer({ keepAlive: true }, (req, res) => {
    proxy.stats.requests += 1;
    const info: ProxyRequest = {
      seq: proxy.stats.requests,
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      bodyBytes: Number(req.headers['content-length'] ?? 0),
    };
    const fault = proxy.plan(info) ?? { type: 'pass' };
    faults[fault.type] += 1;
    handle(req, res, fault, info);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // A client that went away mid-request must not crash the test process.
  server.on('clientError', (_error, socket) => socket.destroy());

  function handle(req: IncomingMessage, res: ServerResponse, fault: ProxyFault, info: ProxyRequest): void {
    if (fault.type === 'status') {
      req.resume();
      req.on('end', () => {
        const body =
          `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${fault.code}</Code>` +
          `<Message>injected by the flaky proxy</Message><RequestId>flaky</RequestId></Error>`;
        res.writeHead(fault.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
      return;
    }
    if (fault.type === 'stall' && fault.afterResponseBytes === undefined) {
      // Take the body so the client believes it was sent, then answer nothing.
      req.resume();
      return;
    }
    forward(req, res, fault, info);
  }

  function forward(req: IncomingMessage, res: ServerResponse, fault: ProxyFault, info: ProxyRequest): void {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !hopByHop.has(name)) headers[name] = value;
    }
    if (fault.type === 'ignore-range') delete headers.range;
    const keep = fault.type === 'truncate-upload' ? Math.min(fault.keepBytes, Number(headers['content-length'] ?? 0)) : undefined;
    if (keep !== undefined) headers['content-length'] = String(keep);
    const upstreamReq = httpRequest({
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers,
      agent,
    });
    let cutDone = false;
    let stalled = false;
    const cut = () => {
      cutDone = true;
      upstreamReq.destroy();
      req.socket.destroy();
    };
    upstreamReq.on('error', () => {
      if (!stalled) req.socket.destroy();
    });
    req.on('error', () => upstreamReq.destroy());
    // The client gave up (its idle timeout during a stall, say): free the server side too.
    res.on('close', () => {
      if (!res.writableFinished) upstreamReq.destroy();
    });

    let sent = 0;
    let ended = false;
    const endUpstream = () => {
      if (!ended) upstreamReq.end();
      ended = true;
    };
    if (keep === 0) endUpstream();
    req.on('data', (chunk: Buffer) => {
      if (cutDone) return;
      let part = chunk;
      if (fault.type === 'drop-request' && sent + part.length >= fault.afterBytes) {
        upstreamReq.write(part.subarray(0, Math.max(0, fault.afterBytes - sent)));
        cut();
        return;
      }
      if (keep !== undefined) {
        if (sent >= keep) return; // the rest is swallowed: the store "kept" less than it was sent
        part = part.subarray(0, keep - sent);
      }
      sent += part.length;
      if (!upstreamReq.write(part)) {
        req.pause();
        upstreamReq.once('drain', () => req.resume());
      }
      if (keep !== undefined && sent >= keep) endUpstream();
    });
    req.on('end', () => {
      if (!cutDone) endUpstream();
    });

    upstreamReq.on('response', (upstreamRes) => {
      proxy.onServerResponse?.(info, upstreamRes.statusCode ?? 0);
      const responseHeaders: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(upstreamRes.headers)) {
        if (value !== undefined && !hopByHop.has(name)) responseHeaders[name] = value;
      }
      if (fault.type === 'oversize-response') {
        oversize(upstreamRes, res, responseHeaders, fault);
        return;
      }
      res.writeHead(upstreamRes.statusCode ?? 502, responseHeaders);
      const limit =
        fault.type === 'drop-response' ? fault.afterBytes : fault.type === 'stall' ? (fault.afterResponseBytes ?? 0) : undefined;
      let relayed = 0;
      upstreamRes.on('data', (chunk: Buffer) => {
        if (cutDone || stalled) return;
        if (limit !== undefined && relayed + chunk.length >= limit) {
          res.write(chunk.subarray(0, Math.max(0, limit - relayed)));
          relayed = limit;
          if (fault.type === 'drop-response') {
            cut();
          } else {
            // Stall: the client's connection stays open and silent.
            stalled = true;
            upstreamRes.destroy();
          }
          return;
        }
        relayed += chunk.length;
        if (!res.write(chunk)) {
          upstreamRes.pause();
          res.once('drain', () => upstreamRes.resume());
        }
      });
      upstreamRes.on('end', () => {
        if (!cutDone && !stalled) res.end();
      });
      upstreamRes.on('error', () => {
        if (!stalled) req.socket.destroy();
      });
    });
  }

  function oversize(
    upstreamRes: IncomingMessage,
    res: ServerResponse,
    headers: Record<string, string | string[]>,
    fault: Extract<ProxyFault, { type: 'oversize-response' }>,
  ): void {
    const length = Number(headers['content-length'] ?? 0);
    if (fault.contentLength === 'announce') headers['content-length'] = String(length + fault.extraBytes);
    if (fault.contentLength === 'omit') delete headers['content-length'];
    res.writeHead(upstreamRes.statusCode ?? 502, headers);
    const zeros = Buffer.alloc(64 * 1024);
    let left = fault.extraBytes;
    let gone = false;
    res.on('close', () => {
      gone = true;
      upstreamRes.destroy();
    });
    const pump = () => {
      while (!gone && left > 0) {
        const part = zeros.subarray(0, Math.min(zeros.length, left));
        left -= part.length;
        proxy.stats.extraBytesSent += part.length;
        if (!res.write(part)) {
          res.once('drain', pump);
          return;
        }
      }
      if (!gone) res.end();
    };
    upstreamRes.on('data', (chunk: Buffer) => {
      if (!res.write(chunk)) {
        upstreamRes.pause();
        res.once('drain', () => upstreamRes.resume());
      }
    });
    upstreamRes.on('end', pump);
    upstreamRes.on('error', () => res.socket?.destroy());
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
