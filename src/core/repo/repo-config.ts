/**
 * The `config` file: plaintext so tools can identify a repository without the
 * password, and therefore writable by anyone who can write the bucket. So:
 *
 * - every value is bounded before anything uses it (a chunker or pack size of
 *   2^40 must not become an allocation), in every format version;
 * - format 2 authenticates it: `mac` is an HMAC under a key derived from the
 *   master key, over the canonical JSON of every other field. It can only be
 *   checked once a key file has opened, which is why the bounds come first.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { LifeboatError } from '../errors.js';
import type { MasterKey } from './crypto.js';
import { REPOSITORY_FORMAT, REPOSITORY_VERSION, type RepositoryConfig } from './format.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * Bounds: chunks up to 64 MiB (restic's largest is 8 MiB) and packs up to
 * 128 MiB (restic's maximum): every worker allocates a buffer of about a pack,
 * so a larger value would be an attack on memory, not a setting.
 */
export const configBounds = {
  chunkMin: 256,
  chunkMax: 64 * MiB,
  packMin: 4 * KiB,
  packMax: 128 * MiB,
  levelMin: -7,
  levelMax: 22,
} as const;

const int = (min: number, max: number) => z.number().int().min(min).max(max);

const configSchema = z
  .object({
    format: z.literal(REPOSITORY_FORMAT),
    version: z.number().int().min(1).max(REPOSITORY_VERSION),
    id: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
    created: z.string().max(64),
    chunker: z.object({
      minSize: int(configBounds.chunkMin, configBounds.chunkMax),
      avgSize: int(configBounds.chunkMin, configBounds.chunkMax),
      maxSize: int(configBounds.chunkMin, configBounds.chunkMax),
    }),
    packSize: int(configBounds.packMin, configBounds.packMax),
    compression: z.object({ algorithm: z.literal('zstd'), level: int(configBounds.levelMin, configBounds.levelMax) }),
    legacyPacks: z.boolean().optional(),
    mac: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits').optional(),
  })
  .refine((c) => c.chunker.minSize <= c.chunker.avgSize && c.chunker.avgSize <= c.chunker.maxSize, {
    message: 'chunker sizes must satisfy minSize <= avgSize <= maxSize',
    path: ['chunker'],
  })
  .refine((c) => c.version >= 2 || (c.mac === undefined && c.legacyPacks === undefined), {
    message: 'mac and legacyPacks exist only from version 2 on',
  })
  .refine((c) => c.version < 2 || c.mac !== undefined, { message: 'a version 2 config must carry its mac', path: ['mac'] });

/** Parse and bound a config file's bytes; throws REPO_CORRUPT naming the field, or the version this code cannot read. */
export function parseConfig(raw: Buffer, location: string): RepositoryConfig {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new LifeboatError('REPO_CORRUPT', `the config of the repository at ${location} is not valid JSON`);
  }
  const head = value as { format?: unknown; version?: unknown } | null;
  if (typeof head !== 'object' || head === null || head.format !== REPOSITORY_FORMAT) {
    throw new LifeboatError('REPO_CORRUPT', `${location} is not a Lifeboat repository (config format ${JSON.stringify(head?.format)})`);
  }
  if (typeof head.version === 'number' && head.version > REPOSITORY_VERSION) {
    throw new LifeboatError('REPO_CORRUPT', `the repository at ${location} has format version ${head.version}; this Lifeboat reads up to ${REPOSITORY_VERSION}`);
  }
  const parsed = configSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`);
    throw new LifeboatError('REPO_CORRUPT', `the config of the repository at ${location} is invalid (altered or damaged): ${problems.join('; ')}`);
  }
  return parsed.data as RepositoryConfig;
}

/**
 * JSON with object keys sorted and no whitespace: for the config's values
 * (ASCII strings, integers, booleans, objects) the same bytes as RFC 8785 and
 * as Python's `json.dumps(value, sort_keys=True, separators=(",", ":"))`.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** HMAC-SHA-256 under HMAC-SHA-256(M, "lifeboat/config-mac-key") over the canonical config without `mac`. */
export function configMac(key: MasterKey, config: RepositoryConfig): string {
  const { mac: _mac, ...rest } = config;
  const macKey = createHmac('sha256', key.mac).update('lifeboat/config-mac-key').digest();
  return createHmac('sha256', macKey).update(canonicalJson(rest)).digest('hex');
}

/** Format 2: the config must carry the mac of its own fields; throws REPO_CORRUPT when it was changed. */
export function verifyConfigMac(key: MasterKey, config: RepositoryConfig, location: string): void {
  if (config.version < 2) return;
  const expected = Buffer.from(configMac(key, config), 'hex');
  const actual = Buffer.from(config.mac ?? '', 'hex');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new LifeboatError('REPO_CORRUPT', `the config of the repository at ${location} was altered: its mac does not match its fields (the file is not the one written with this repository's key)`);
  }
}

/** The config file's bytes: format 2 configs get their mac. */
export function encodeConfig(key: MasterKey, config: RepositoryConfig): Buffer {
  const { mac: _mac, ...rest } = config;
  const sealed: RepositoryConfig = config.version >= 2 ? { ...rest, mac: configMac(key, rest) } : rest;
  return Buffer.from(JSON.stringify(sealed, null, 2) + '\n');
}
