import { describe, expect, it } from 'vitest';
import { cpuSpreadWarnings, userCpuRange } from '../../bench/cpu-spread.js';

describe('bench: user CPU spread across rounds', () => {
  it('names an op whose rounds differ by more than 15% and 0.5 s, and only that one', () => {
    const rows = [
      // The S3 restore of a run whose host slowed rounds 2-3: 3.2 then 4.1 and 4.2 s of user CPU.
      { op: 'restore', tool: 'lifeboat', ...userCpuRange([3.2, 4.1, 4.2]) },
      // 20% apart but only 0.2 s: a short op's rounds differ by tenths anyway.
      { op: 'nochange', tool: 'lifeboat', ...userCpuRange([1.0, 1.2, 1.1]) },
      // 0.6 s apart but under 15%.
      { op: 'first', tool: 'restic', ...userCpuRange([8.3, 8.9]) },
    ];
    const lines = cpuSpreadWarnings('S3', rows);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^# S3, restore lifeboat: user CPU 3\.2–4\.2 s across rounds for the same work \(> 15% apart\)/);
  });

  it('says nothing without user CPU (a tool whose rounds all failed)', () => {
    expect(userCpuRange([])).toEqual({ minUserS: null, maxUserS: null });
    expect(cpuSpreadWarnings('mixed dataset', [{ op: 'restore', tool: 'restic', ...userCpuRange([]) }])).toEqual([]);
  });
});
