/**
 * Progress arrives per file or per 16 MiB; faces want a few updates a second.
 * Rate is measured over the whole stage so ETA does not jump around.
 */
import type { Clock } from '../clock.js';
import type { ProgressCounters } from '../events.js';

export function progressThrottle(clock: Clock, intervalMs: number, send: (p: ProgressCounters) => void) {
  const started = clock.monotonicMs();
  let last = -Infinity;
  return (p: Omit<ProgressCounters, 'rate' | 'etaSeconds'>, force = false): void => {
    const now = clock.monotonicMs();
    if (!force && now - last < intervalMs) return;
    last = now;
    const seconds = (now - started) / 1000;
    const rate = seconds > 0 ? p.bytes / seconds : undefined;
    const remaining = p.totalBytes !== undefined ? p.totalBytes - p.bytes : undefined;
    const etaSeconds = rate && remaining !== undefined && remaining >= 0 ? remaining / rate : undefined;
    send({ ...p, rate, etaSeconds });
  };
}
