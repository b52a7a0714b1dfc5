/**
 * How a restore from the cold tier thaws: the request (the runbook's
 * `repository.cold.retrieval` and `thawDays`), how often it polls and how long
 * it waits at most.
 *
 * Deadline: twice the longest thaw AWS documents for the class and tier
 * (GLACIER Standard 5 h → 10 h, DEEP_ARCHIVE Bulk 48 h → 96 h, GLACIER
 * Expedited 5 min → 10 min), at least 10 minutes. Not the runbook's RTO: the
 * RTO is a target, and a drill over it is reported `missed` with its measured
 * time, which is worth more than one cut off at the target. The deadline is
 * there to stop waiting for S3 when a thaw is clearly stuck.
 *
 * Environment overrides (durations as in runbooks: 50ms, 2m, 6h):
 *   LIFEBOAT_THAW_DEADLINE   the deadline
 *   LIFEBOAT_THAW_POLL       the first poll's wait (default 1m)
 *   LIFEBOAT_THAW_POLL_MAX   the longest wait between polls (default 15m; at least the first)
 */
import type { ThawRequest } from '../backends/backend.js';
import { LifeboatError } from '../errors.js';
import type { ColdLocation, Runbook, StorageClass } from '../runbook/types.js';
import { parseDuration } from '../runbook/units.js';
import { estimateColdRestore } from './estimate.js';
import { defaultThawPollPolicy, type ThawPollPolicy } from './thaw.js';

export interface ThawSettings {
  request: ThawRequest;
  deadlineMs: number;
  poll: ThawPollPolicy;
  storageClass: StorageClass;
}

const MIN_DEADLINE_MS = 10 * 60_000;

/** The cold location of a runbook, or a USAGE error naming the runbook. */
export function coldLocationOf(runbook: Runbook): ColdLocation {
  const cold = runbook.repository.cold;
  if (!cold) {
    throw new LifeboatError('USAGE', `runbook ${runbook.name} has no cold repository (add repository.cold to ${runbook.file}, or leave out --tier cold)`);
  }
  return cold;
}

export function thawSettingsFor(runbook: Runbook, env: Readonly<Record<string, string | undefined>>): ThawSettings {
  const cold = coldLocationOf(runbook);
  const storageClass = cold.storageClass ?? 'STANDARD';
  const request: ThawRequest = { tier: cold.retrieval, days: cold.thawDays };
  const longest = estimateColdRestore({ storageClass, retrieval: cold.retrieval, bytes: 0, objects: 0 }).thawRangeMs[1];
  const deadlineMs = durationFromEnv(env, 'LIFEBOAT_THAW_DEADLINE') ?? Math.max(MIN_DEADLINE_MS, 2 * longest);
  const firstPollMs = durationFromEnv(env, 'LIFEBOAT_THAW_POLL') ?? defaultThawPollPolicy.firstPollMs;
  const maxPollMs = Math.max(firstPollMs, durationFromEnv(env, 'LIFEBOAT_THAW_POLL_MAX') ?? defaultThawPollPolicy.maxPollMs);
  return { request, deadlineMs, poll: { firstPollMs, maxPollMs, factor: defaultThawPollPolicy.factor }, storageClass };
}

function durationFromEnv(env: Readonly<Record<string, string | undefined>>, name: string): number | undefined {
  const text = env[name];
  if (text === undefined || text === '') return undefined;
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (e) {
    throw new LifeboatError('USAGE', `${name}=${JSON.stringify(text)} is not a duration (e.g. 50ms, 2m, 6h)`, { cause: e });
  }
  if (!(ms > 0)) throw new LifeboatError('USAGE', `${name}=${JSON.stringify(text)} must be longer than zero`);
  return ms;
}
