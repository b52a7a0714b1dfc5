/**
 * A POSIX (pax) tar stream, written entry by entry into any byte sink. Plain
 * ustar headers carry what fits them (ASCII paths of up to 100 bytes, sizes
 * below 8 GiB); anything else — a long, non-ASCII or newline-holding path or
 * link target, a huge file — gets a pax extended header first, which GNU tar,
 * bsdtar and Python's tarfile all read. Writing tar is the easy half of the
 * format (nothing untrusted is parsed), so it is done here rather than with a
 * library: tar-stream 3.2+ pulls Bare-runtime modules (bare-fs and its
 * bare-* dependencies) that Node never uses, and node-tar packs from the file
 * system, not from a repository.
 */
import { LifeboatError } from '../errors.js';

const BLOCK = 512;
/**
 * Output is gathered into chunks of this size before it goes to the sink: a tar
 * of 35,000 small files was three writes per entry (header, content, padding),
 * each a system call and an awaited promise; now a few hundred writes in all.
 */
const GATHER = 256 * 1024;

export interface TarMeta {
  mode: number;
  mtimeMs: number;
  uid?: number;
  gid?: number;
}

export type ByteWriter = (chunk: Uint8Array) => Promise<void>;

export class TarWriter {
  private paxCount = 0;
  /** Bytes of the archive so far (those still gathered included; `finish` writes them all). */
  bytes = 0;
  private gathered = Buffer.allocUnsafe(GATHER);
  private used = 0;

  constructor(private readonly out: ByteWriter) {}

  async directory(path: string, meta: TarMeta): Promise<void> {
    await this.header(path.endsWith('/') ? path : `${path}/`, '5', 0, meta);
  }

  async symlink(path: string, target: string, meta: TarMeta): Promise<void> {
    await this.header(path, '2', 0, meta, target);
  }

  /**
   * A file of `size` bytes from `chunks`. The archive stays well-formed
   * whatever the chunks do: when they fail or run short, the rest of the entry
   * is zeros and the error is returned (the caller names the damaged file);
   * bytes past `size` are never written.
   */
  async file(path: string, size: number, meta: TarMeta, chunks: AsyncIterable<Uint8Array>): Promise<Error | undefined> {
    await this.header(path, '0', size, meta);
    let left = size;
    let error: Error | undefined;
    try {
      for await (const chunk of chunks) {
        const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
        if (part.length > 0) await this.write(part);
        left -= part.length;
        if (chunk.length > part.length) throw new LifeboatError('REPO_CORRUPT', `${path}: the content is longer than the ${size} bytes its listing records`);
      }
      if (left > 0) throw new LifeboatError('REPO_CORRUPT', `${path}: the content is ${left} bytes shorter than its listing records`);
    } catch (e) {
      error = e as Error;
    }
    await this.zeros(left);
    await this.pad(size);
    return error;
  }

  /** The two zero blocks that end an archive, then everything gathered goes out. */
  async finish(): Promise<void> {
    await this.zeros(2 * BLOCK);
    await this.flush();
  }

  private async header(path: string, type: '0' | '2' | '5', size: number, meta: TarMeta, linkname = ''): Promise<void> {
    const pax: [string, string][] = [];
    const name = fits(path, 100) ? path : (pax.push(['path', path]), asciiStandIn(path, 100));
    const link = fits(linkname, 100) ? linkname : (pax.push(['linkpath', linkname]), asciiStandIn(linkname, 100));
    const uid = meta.uid ?? 0;
    const gid = meta.gid ?? 0;
    if (uid > 0o7777777) pax.push(['uid', String(uid)]);
    if (gid > 0o7777777) pax.push(['gid', String(gid)]);
    if (size > 0o77777777777) pax.push(['size', String(size)]);
    if (pax.length > 0) {
      const body = Buffer.from(pax.map(([k, v]) => paxRecord(k, v)).join(''), 'utf8');
      await this.write(ustarHeader(`PaxHeaders/${++this.paxCount}`, 'x', body.length, { mode: 0o644, mtimeMs: meta.mtimeMs }, ''));
      await this.write(body);
      await this.pad(body.length);
    }
    await this.write(ustarHeader(name, type, size, { ...meta, uid: Math.min(uid, 0o7777777), gid: Math.min(gid, 0o7777777) }, link));
  }

  private async pad(size: number): Promise<void> {
    const rest = size % BLOCK;
    if (rest !== 0) await this.zeros(BLOCK - rest);
  }

  private async write(chunk: Uint8Array): Promise<void> {
    this.bytes += chunk.length;
    if (chunk.length >= GATHER / 4) {
      // Large enough to go out on its own (a file's 1 MiB blob), after what is gathered before it.
      await this.flush();
      await this.out(chunk);
      return;
    }
    if (this.used + chunk.length > GATHER) await this.flush();
    this.gathered.set(chunk, this.used);
    this.used += chunk.length;
  }

  private async zeros(count: number): Promise<void> {
    this.bytes += count;
    for (let left = count; left > 0; ) {
      if (this.used === GATHER) await this.flush();
      const n = Math.min(left, GATHER - this.used);
      this.gathered.fill(0, this.used, this.used + n);
      this.used += n;
      left -= n;
    }
  }

  /** The sink may keep the chunk until it is written (a pipe): each flush hands over a buffer of its own. */
  private async flush(): Promise<void> {
    if (this.used === 0) return;
    const chunk = this.gathered.subarray(0, this.used);
    this.gathered = Buffer.allocUnsafe(GATHER);
    this.used = 0;
    await this.out(chunk);
  }
}

/** Printable ASCII that fits the field: no pax record needed. */
const fits = (s: string, max: number): boolean => s.length <= max && /^[\x20-\x7e]*$/.test(s);

/** What the ustar field holds when the pax header has the real value (readers without pax get a readable hint). */
const asciiStandIn = (s: string, max: number): string => s.replace(/[^\x20-\x7e]/g, '_').slice(-max);

/** `"%d %s=%s\n"`, where the length counts its own digits. */
function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`;
  const restBytes = Buffer.byteLength(rest, 'utf8');
  let len = restBytes + 1;
  while (String(len).length + restBytes !== len) len = String(len).length + restBytes;
  return `${len}${rest}`;
}

function ustarHeader(name: string, type: string, size: number, meta: TarMeta, linkname: string): Buffer {
  const h = Buffer.alloc(BLOCK);
  const text = (offset: number, length: number, value: string) => h.write(value, offset, length, 'utf8');
  const octal = (offset: number, length: number, value: number) => text(offset, length, Math.max(0, Math.floor(value)).toString(8).padStart(length - 1, '0') + '\0');
  text(0, 100, name);
  octal(100, 8, meta.mode & 0o7777);
  octal(108, 8, meta.uid ?? 0);
  octal(116, 8, meta.gid ?? 0);
  octal(124, 12, Math.min(size, 0o77777777777));
  octal(136, 12, meta.mtimeMs / 1000);
  h.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
  text(156, 1, type);
  text(157, 100, linkname);
  text(257, 6, 'ustar\0');
  text(263, 2, '00');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i]!;
  text(148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return h;
}
