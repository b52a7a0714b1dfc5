/**
 * Runs a drill's shell commands (a stream source's `restore`, the runbook's
 * `drill.check`) with a timeout, optionally feeding a file to stdin, and keeps
 * the tail of their output for the drill record.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';

export interface ShellResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** The last lines of stdout and stderr, interleaved as they came. */
  tail: string[];
  durationMs: number;
}

const TAIL_BYTES = 8192;

export function runShell(
  command: string,
  options: { cwd: string; env: Readonly<Record<string, string | undefined>>; stdinFile?: string; timeoutMs: number; signal?: AbortSignal },
): Promise<ShellResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: options.cwd,
      env: options.env as NodeJS.ProcessEnv,
      stdio: [options.stdinFile ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: true, // a process group: a timeout kills the whole pipeline
    });
    let output = '';
    const keep = (d: Buffer) => {
      output = (output + d.toString('utf8')).slice(-TAIL_BYTES);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    if (options.stdinFile && child.stdin) {
      const input = createReadStream(options.stdinFile);
      input.on('error', (e) => child.stdin!.destroy(e));
      child.stdin.on('error', () => undefined); // the command may exit before reading everything
      input.pipe(child.stdin);
    }
    let timedOut = false;
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, options.timeoutMs);
    options.signal?.addEventListener('abort', kill, { once: true });
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', kill);
      resolve({
        code,
        signal,
        timedOut,
        tail: output.split(/\r?\n/).filter((l) => l.trim() !== '').slice(-15),
        durationMs: performance.now() - started,
      });
    });
  });
}
