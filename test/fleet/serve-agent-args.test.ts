/** serve's agent-watch settings from LIFEBOAT_AGENT_* (issue 19): only those set, positive durations, a bad one named. */
import { describe, expect, it } from 'vitest';
import { parseServeArgs } from '../../src/serve/serve-args.js';

describe('LIFEBOAT_AGENT_LOST_AFTER, LIFEBOAT_AGENT_CHECK_INTERVAL, LIFEBOAT_NO_AGENT_GRACE', () => {
  it('are read as durations, only when set; unset, serve keeps its defaults', () => {
    expect(parseServeArgs([], {})).not.toHaveProperty('agentWatch');
    expect(parseServeArgs([], { LIFEBOAT_AGENT_LOST_AFTER: '90s', LIFEBOAT_NO_AGENT_GRACE: '10m' }).agentWatch).toEqual({ lostAfterMs: 90_000, noAgentGraceMs: 600_000 });
    expect(parseServeArgs([], { LIFEBOAT_AGENT_CHECK_INTERVAL: '500ms' }).agentWatch).toEqual({ intervalMs: 500 });
  });

  it('refuses a zero or a duration without a unit, naming the variable', () => {
    expect(() => parseServeArgs([], { LIFEBOAT_AGENT_LOST_AFTER: '0s' })).toThrow('serve: LIFEBOAT_AGENT_LOST_AFTER: must be more than zero, got "0s" (e.g. 60s)');
    expect(() => parseServeArgs([], { LIFEBOAT_AGENT_CHECK_INTERVAL: '15' })).toThrow(/^serve: LIFEBOAT_AGENT_CHECK_INTERVAL: .*without a unit/);
  });
});
