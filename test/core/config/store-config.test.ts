/**
 * lifeboat.yaml `store:`: the PostgreSQL URL by reference only (never quoted
 * back when written inline), history kept by age (default 400d), every
 * problem at its line and column like the rest of the file.
 */
import { describe, expect, it } from 'vitest';
import { checkConfigText } from '../../../src/core/config/load.js';
import { formatIssue, knownSecrets } from '../../../src/core/index.js';

const check = (lines: string[]) => checkConfigText(lines.join('\n'), '/srv/ops/lifeboat.yaml', '/srv/ops');
const problems = (lines: string[]) => check(lines).issues.map(formatIssue);

describe('lifeboat.yaml store:', () => {
  it('reads the URL reference, keep and the leader lease, a file relative to lifeboat.yaml, 400d and 15s by default', () => {
    expect(check(['store:', '  url: { env: LIFEBOAT_STORE_URL }', '  keep: 30d', '  leaderLease: 30s']).config?.store).toEqual({
      url: { kind: 'env', name: 'LIFEBOAT_STORE_URL' },
      keepMs: 30 * 86_400_000,
      leaderLeaseMs: 30_000,
    });
    expect(check(['store: { url: { file: secrets/store-url } }']).config?.store).toEqual({
      url: { kind: 'file', path: '/srv/ops/secrets/store-url', create: false },
      keepMs: 400 * 86_400_000,
      leaderLeaseMs: 15_000,
    });
    expect(check(['notify: {}']).config?.store).toBeUndefined();
  });

  it('refuses a URL written inline without quoting it, and names every other problem at its place', () => {
    const url = 'postgres://lifeboat:hunter2-secret@db.example.com/lifeboat';
    const found = problems(['store:', `  url: "${url}"`, '  keep: 0d', '  keap: 3d']);
    expect(found).toEqual([
      'lifeboat.yaml:2:8: store.url: The store URL must not be written in lifeboat.yaml (expected a reference: { env: NAME } or { file: PATH })',
      expect.stringMatching(/^lifeboat\.yaml:3:9: store\.keep: Duration must be more than zero/),
      'lifeboat.yaml:4:3: store.keap: Unknown field (did you mean "keep"?)',
    ]);
    expect(found.join('\n')).not.toContain('hunter2');
    expect(problems(['store:', '  url: { env: LIFEBOAT_STORE_URL }', '  leaderLease: 1s'])).toEqual([
      expect.stringMatching(/^lifeboat\.yaml:3:\d+: store\.leaderLease: The leader lease must be from 3s to 10m/),
    ]);
    expect(problems(['store: { keep: 30d }'])).toEqual([expect.stringMatching(/^lifeboat\.yaml:1:\d+: store\.url: Missing required field \(expected a reference: \{ env: NAME \} or \{ file: PATH \}\)$/)]);
    expect(problems(['store: { url: { env: LIFEBOAT_STORE_URL, flie: x } }'])).toEqual([expect.stringMatching(/store\.url\.flie: Unknown field \(expected one of: env, file\)/)]);
  });

  it('the store URL is a known secret: redacted whole, from LIFEBOAT_STORE_URL or from lifeboat.yaml\'s reference', async () => {
    const url = 'postgres://lifeboat@db.example.com/lifeboat?password=hunter2-secret&sslmode=require';
    const fromEnv = await knownSecrets({ LIFEBOAT_STORE_URL: url }, []);
    expect(fromEnv.redact(`cannot reach ${url}`)).toBe('cannot reach [redacted LIFEBOAT_STORE_URL]');
    const config = check(['store: { url: { env: TEAM_STORE } }']).config!;
    const fromConfig = await knownSecrets({ TEAM_STORE: url }, [], config);
    expect(fromConfig.redact(`cannot reach ${url}`)).not.toContain('hunter2');
  });
});
