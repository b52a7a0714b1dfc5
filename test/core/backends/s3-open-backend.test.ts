import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBackend } from '../../../src/core/backends/open-backend.js';
import { S3Backend } from '../../../src/core/backends/s3-backend.js';
import type { RepositoryLocation } from '../../../src/core/runbook/types.js';
import { startS3rver, s3rverCredentials, type RunningS3rver } from '../../helpers/s3rver.js';
import { dataHandle, rejection } from './contract.js';

let server: RunningS3rver;
const savedEnv = { ...process.env };

beforeAll(async () => {
  server = await startS3rver();
  // The SDK's standard chain reads these; runbooks never carry credentials.
  process.env.AWS_ACCESS_KEY_ID = s3rverCredentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = s3rverCredentials.secretAccessKey;
});

afterAll(async () => {
  process.env = savedEnv;
  await server?.stop();
});

describe('openBackend with s3:// URLs', () => {
  it("opens a runbook's repository location as is: endpoint, path style, region, storage class; credentials from the environment", async () => {
    const location: RepositoryLocation = {
      url: `s3://${server.bucket}/app-data/`,
      endpoint: server.endpoint,
      pathStyle: true,
      region: 'us-east-1',
      storageClass: 'DEEP_ARCHIVE',
    };
    const backend = await openBackend(location.url, { location });
    expect(backend).toBeInstanceOf(S3Backend);
    expect(backend.location).toBe(`s3://${server.bucket}/app-data`);
    await backend.create();
    const pack = dataHandle();
    await backend.save(pack, Buffer.from('pack'));
    await backend.save({ kind: 'config', name: 'config' }, Buffer.from('{}'));
    expect(await backend.exists()).toBe(true);

    const client = new S3Client({
      endpoint: server.endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: s3rverCredentials,
    });
    const head = (key: string) => client.send(new HeadObjectCommand({ Bucket: server.bucket, Key: key }));
    expect((await head(`app-data/data/${pack.name.slice(0, 2)}/${pack.name}`)).StorageClass).toBe('DEEP_ARCHIVE');
    expect((await head('app-data/config')).StorageClass ?? 'STANDARD').toBe('STANDARD');
    client.destroy();
    await backend.close();
  });

  it('lets code tune the S3 backend (createBucket: false) and location fields win', async () => {
    const backend = await openBackend('s3://never-made/x', {
      location: { endpoint: server.endpoint, pathStyle: true },
      s3: { endpoint: 'http://127.0.0.1:1', createBucket: false },
    });
    const error = await rejection(backend.create(), 'BACKEND_NOT_FOUND');
    expect(error.message).toBe(
      `create s3://never-made/x: bucket "never-made" does not exist at ${server.endpoint} (check the bucket name and region, or run init to create it)`,
    );
    await backend.close();
  });

  it('refuses malformed s3:// URLs with USAGE, never echoing credentials', async () => {
    await rejection(openBackend('s3://'), 'USAGE');
    await rejection(openBackend('s3://Bad_Bucket/x'), 'USAGE');
    const error = await rejection(openBackend('s3://AKIA:hunter2@bucket/x'), 'USAGE');
    expect(error.message).not.toContain('hunter2');
  });

  it('loads the AWS SDK only when an s3:// URL is opened', async () => {
    const script = `
      import { createRequire } from 'node:module';
      const require = createRequire(import.meta.url);
      const loaded = () => Object.keys(require.cache).some((k) => k.includes('@aws-sdk'));
      const { openBackend } = await import(process.argv[1]);
      await openBackend('memory:lazy');
      const before = loaded();
      await openBackend('s3://lazy-bucket/x', { location: { endpoint: 'http://127.0.0.1:1' } });
      console.log(JSON.stringify({ before, after: loaded() }));
    `;
    const openBackendPath = fileURLToPath(new URL('../../../src/core/backends/open-backend.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script, openBackendPath],
      { env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } },
    );
    expect(JSON.parse(stdout)).toEqual({ before: false, after: true });
  });
});
