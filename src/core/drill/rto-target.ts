/**
 * The recovery time objective a restore or drill is held to. A restore from
 * the cold tier waits for a thaw (hours for Glacier, days for Deep Archive),
 * so a runbook may promise a separate `objectives.coldRto`; without one, cold
 * restores are held to `rto` like hot ones.
 */
import type { Tier } from '../repo/open-repository.js';
import type { Runbook } from '../runbook/types.js';

export function rtoTargetOf(objectives: Runbook['objectives'], tier: Tier): number {
  return tier === 'cold' ? (objectives.coldRtoMs ?? objectives.rtoMs) : objectives.rtoMs;
}
