/** `lifeboat serve`'s arguments (src/serve/serve-args.ts): defaults, the LIFEBOAT_ settings they fall back to, and usage errors (exit 2). */
import { describe, expect, it } from 'vitest';
import { ExitCode, LifeboatError } from '../../src/core/errors.js';
import { DEFAULT_METRICS_PORT, exposedMetricsWarning, isLoopbackHost, parseServeArgs } from '../../src/serve/serve-args.js';

function usageError(argv: string[], env: Record<string, string> = {}): LifeboatError {
  try {
    parseServeArgs(argv, env);
  } catch (e) {
    expect(e).toBeInstanceOf(LifeboatError);
    expect((e as LifeboatError).exitCode).toBe(ExitCode.usage);
    return e as LifeboatError;
  }
  throw new Error(`parseServeArgs(${argv.join(' ')}) did not refuse`);
}

describe('serve arguments', () => {
  it('defaults: metrics on 127.0.0.1 at the default port, 1h grace, no jitter, 5m shutdown deadline, no Slack port', () => {
    expect(parseServeArgs([], {})).toEqual({ ops: { host: '127.0.0.1', port: DEFAULT_METRICS_PORT }, graceMs: 3_600_000, jitterMs: 0, shutdownDeadlineMs: 300_000 });
  });

  it('options win over LIFEBOAT_METRICS_PORT and LIFEBOAT_SHUTDOWN_DEADLINE, which win over the defaults', () => {
    const env = { LIFEBOAT_METRICS_PORT: '9100', LIFEBOAT_SHUTDOWN_DEADLINE: '30s' };
    expect(parseServeArgs([], env)).toMatchObject({ ops: { port: 9100 }, shutdownDeadlineMs: 30_000 });
    const given = parseServeArgs(['--metrics-port', '0', '--metrics-host', '::1', '--shutdown-deadline', '2m', '--grace', '15m', '--jitter', '30s', '--port', '3000'], env);
    expect(given).toEqual({ slackPort: '3000', ops: { host: '::1', port: 0 }, graceMs: 900_000, jitterMs: 30_000, shutdownDeadlineMs: 120_000 });
  });

  it('--metrics-port off turns /metrics and /healthz off', () => {
    expect(parseServeArgs(['--metrics-port', 'off'], {}).ops).toBeUndefined();
    expect(parseServeArgs([], { LIFEBOAT_METRICS_PORT: 'off' }).ops).toBeUndefined();
  });

  it('takes the metrics address from --metrics-host, else LIFEBOAT_METRICS_HOST, else 127.0.0.1', () => {
    expect(parseServeArgs([], { LIFEBOAT_METRICS_HOST: '0.0.0.0' }).ops).toEqual({ host: '0.0.0.0', port: DEFAULT_METRICS_PORT });
    expect(parseServeArgs(['--metrics-host', '10.0.0.5'], { LIFEBOAT_METRICS_HOST: '0.0.0.0' }).ops?.host).toBe('10.0.0.5');
    // An empty address would make Node listen on every one: refused, not taken as "all".
    expect(usageError(['--metrics-host', '']).message).toMatch(/^serve: --metrics-host must be an address or host name, got ""/);
    expect(usageError([], { LIFEBOAT_METRICS_HOST: ' ' }).message).toMatch(/^serve: LIFEBOAT_METRICS_HOST must be an address or host name, got " "/);
  });

  it('tells a loopback address (kept on this machine) from one the network can reach', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.10', 'backup-host.example.com', '::ffff:10.0.0.1', 'fe80::1', '128.0.0.1']) expect(isLoopbackHost(host), host).toBe(false);
    expect(exposedMetricsWarning('0.0.0.0:9464')).toBe('metrics and health exposed on 0.0.0.0:9464: they name every runbook and host; put them behind a firewall or reverse proxy');
  });

  it('refuses what it cannot use, naming the option and the value', () => {
    expect(usageError(['--metrics-port', '70000']).message).toMatch(/^serve: --metrics-port must be a number 0-65535 or "off", got "70000"/);
    expect(usageError(['--grace', 'soon']).message).toMatch(/^serve: --grace: .*"soon"/);
    expect(usageError([], { LIFEBOAT_SHUTDOWN_DEADLINE: 'never' }).message).toMatch(/^serve: LIFEBOAT_SHUTDOWN_DEADLINE: .*"never"/);
    expect(usageError(['--bogus']).message).toMatch(/^serve: .*--bogus/);
    expect(usageError(['demo']).message).toMatch(/^serve: .*demo/);
  });
});
