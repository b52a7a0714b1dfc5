/**
 * Runs one command and measures it: wall time (hrtime around spawn → exit), peak
 * RSS and CPU time of the child, and the CPU that other processes used meanwhile.
 *
 * Peak RSS: GNU time (`/usr/bin/time -f '%M …'`) reports the child's ru_maxrss from
 * wait4(), in KiB — the peak resident set of the process (all its threads; for a
 * child that forks, the largest of it and its waited-for children, not their
 * sum). When /usr/bin/time is missing, /proc/<pid>/status VmHWM (the kernel's
 * own high-water mark) is polled every 20 ms and the last value read is kept.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';

export type RssMethod = 'gnu-time' | 'proc-vmhwm';

export interface Command {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
}

export interface Measured {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  wallMs: number;
  peakRssBytes: number | null;
  /** user + system CPU seconds of the child (GNU time only). */
  cpuS: number | null;
  /**
   * User CPU seconds alone (GNU time only): the tool's own work. The kernel's share swings with the
   * file system's state (see bench/discard.ts), so the ratio of user CPU is the steadier comparison.
   */
  userS: number | null;
  /** Busy CPU seconds of the whole machine during the run, less the child's own. */
  otherCpuS: number | null;
  loadAvg1: number;
  stdoutPath: string;
  stderrPath: string;
}

const GNU_TIME = '/usr/bin/time';

export function rssMethod(): RssMethod {
  if (process.env.BENCH_RSS_METHOD === 'proc') return 'proc-vmhwm'; // to exercise the fallback
  try {
    fs.accessSync(GNU_TIME, fs.constants.X_OK);
    return 'gnu-time';
  } catch {
    return 'proc-vmhwm';
  }
}

const TICKS_PER_S = 100; // USER_HZ; Linux reports /proc/stat in these everywhere that matters

/** Busy CPU seconds since boot, all cores (everything but idle and iowait). */
function busyCpuS(): number | null {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal guest guest_nice
    const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
    return busy / TICKS_PER_S;
  } catch {
    return null;
  }
}

function readVmHwmBytes(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Waits (up to `maxS`) until the rest of the machine uses less than `cores` CPUs,
 * measured over 1-second windows. Returns the seconds waited and the last load seen.
 */
export async function waitForIdle(maxS: number, cores = 0.3): Promise<{ waitedS: number; busyCores: number | null }> {
  const t0 = Date.now();
  for (;;) {
    const a = busyCpuS();
    await new Promise((r) => setTimeout(r, 1000));
    const b = busyCpuS();
    if (a === null || b === null) return { waitedS: 0, busyCores: null };
    const busyCores = b - a;
    const waitedS = (Date.now() - t0) / 1000;
    if (busyCores < cores || waitedS >= maxS) return { waitedS, busyCores };
  }
}

/** utime + stime (+ waited-for children) of a live process, in seconds. */
function readCpuS(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    // fields 14–17 of stat(5), counted from the state field (3) here
    return ((f[11] ?? 0) + (f[12] ?? 0) + (f[13] ?? 0) + (f[14] ?? 0)) / TICKS_PER_S;
  } catch {
    return null;
  }
}

/** Last `max` bytes of a file, as text. */
export function tail(file: string, max = 4000): string {
  try {
    const st = fs.statSync(file);
    const fd = fs.openSync(file, 'r');
    try {
      const len = Math.min(max, st.size);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, st.size - len);
      return buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** Runs `cmd` with stdout/stderr to `${logBase}.out` / `.err`. Never throws for a failing child. */
export async function runMeasured(cmd: Command, logBase: string, timeoutMs: number): Promise<Measured> {
  const method = rssMethod();
  const stdoutPath = `${logBase}.out`;
  const stderrPath = `${logBase}.err`;
  const timePath = `${logBase}.time`;
  const outFd = fs.openSync(stdoutPath, 'w');
  const errFd = fs.openSync(stderrPath, 'w');
  const [exe, ...args] =
    method === 'gnu-time' ? [GNU_TIME, '-o', timePath, '-f', '%M %U %S', '--', ...cmd.argv] : cmd.argv;
  if (!exe) throw new Error('empty command');

  const loadAvg1 = os.loadavg()[0] ?? 0;
  const busy0 = busyCpuS();
  const t0 = process.hrtime.bigint();
  const child = spawn(exe, args, { cwd: cmd.cwd, env: cmd.env, stdio: ['ignore', outFd, errFd] });
  let hwm: number | null = null;
  let polledCpuS: number | null = null;
  const poll =
    method === 'proc-vmhwm'
      ? setInterval(() => {
          if (child.pid === undefined) return;
          hwm = readVmHwmBytes(child.pid) ?? hwm;
          polledCpuS = readCpuS(child.pid) ?? polledCpuS;
        }, 20)
      : undefined;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);

  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c, s) => resolve({ code: c, signal: s }));
  }).finally(() => {
    clearTimeout(timer);
    if (poll) clearInterval(poll);
    fs.closeSync(outFd);
    fs.closeSync(errFd);
  });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const busy1 = busyCpuS();

  let peakRssBytes: number | null = hwm;
  // Polled CPU misses the last ≤ 20 ms; good enough to tell the tool from the rest.
  let cpuS: number | null = polledCpuS;
  let userS: number | null = null;
  if (method === 'gnu-time') {
    // GNU time writes "Command exited with non-zero status N" first when it fails.
    const last = fs.readFileSync(timePath, 'utf8').trim().split('\n').pop() ?? '';
    const [rssKiB, user, sys] = last.split(' ').map(Number);
    if (rssKiB !== undefined && Number.isFinite(rssKiB)) peakRssBytes = rssKiB * 1024;
    if (user !== undefined && sys !== undefined && Number.isFinite(user + sys)) [cpuS, userS] = [user + sys, user];
  }
  const otherCpuS =
    busy0 !== null && busy1 !== null ? Math.max(0, busy1 - busy0 - (cpuS ?? 0)) : null;
  return { code, signal, timedOut, wallMs, peakRssBytes, cpuS, userS, otherCpuS, loadAvg1, stdoutPath, stderrPath };
}
