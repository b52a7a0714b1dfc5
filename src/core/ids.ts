/**
 * The one id maker for records: runs, drills and audit entries. A UTC stamp
 * to the second, so ids sort by time and say when at a glance, then six hex
 * digits of randomness, so two records made in the same second by different
 * processes never collide.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from './clock.js';

export function newRecordId(clock: Clock): string {
  const stamp = clock.now().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}
