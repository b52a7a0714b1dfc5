import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // Most test files wait on child processes, servers and timers, not the CPU. On the 2-core CI
    // machine vitest ran one file at a time by default; two at once took the suite from 436 s to
    // 273 s wall (measured, same machine), with every test still passing.
    maxWorkers: 2,
    // One worker process runs file after file with its module cache kept (isolate: false) instead of a
    // fresh process per file: each file otherwise paid ~1.1 s of CPU to start and import again. On 84 small
    // files that took 206 s wall / 97 s CPU with isolation and 55 s / 32 s without (same machine, same
    // hour). Test files share a process this way: one that changes process.env or another global
    // restores it (as useTierS3rver does).
    isolate: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // s3rver's continuation tokens use DES, which Node 20 only offers with the legacy provider.
    execArgv: ['--openssl-legacy-provider'],
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', NODE_ENV: 'test' },
  },
});
