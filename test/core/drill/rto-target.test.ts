/** Which RTO a restore or drill is held to: cold restores to objectives.coldRto when set, everything else to rto. */
import { describe, expect, it } from 'vitest';
import { rtoTargetOf } from '../../../src/core/drill/rto-target.js';

describe('rtoTargetOf', () => {
  const rtoMs = 15 * 60_000;
  const coldRtoMs = 72 * 60 * 60_000;
  it('hot restores keep rto even when coldRto is set', () => {
    expect(rtoTargetOf({ rpoMs: 1, rtoMs, coldRtoMs }, 'hot')).toBe(rtoMs);
    expect(rtoTargetOf({ rpoMs: 1, rtoMs }, 'hot')).toBe(rtoMs);
  });
  it('cold restores are held to coldRto, and to rto without one', () => {
    expect(rtoTargetOf({ rpoMs: 1, rtoMs, coldRtoMs }, 'cold')).toBe(coldRtoMs);
    expect(rtoTargetOf({ rpoMs: 1, rtoMs }, 'cold')).toBe(rtoMs);
  });
});
