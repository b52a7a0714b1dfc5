/**
 * The latest drill could not run: its repository was unreachable (S3 down), so
 * nothing was restored and nothing was proven either way
 * (src/core/drill/restore-drill.ts records it as verdict `blocked`). A warning,
 * not drill-failed's critical: the data may be fine, but this week's proof
 * that it comes back is missing. Clears when a later drill gets a verdict
 * (met, missed or failed).
 */
import { oneLine } from '../describe.js';
import { alertKey, finishedDrills, type AlertCondition, type AlertRule, type RuleContext } from '../rule.js';

export const drillBlockedRule: AlertRule = {
  name: 'drill-blocked',
  evaluate(ctx: RuleContext): AlertCondition[] {
    const finished = finishedDrills(ctx.drills);
    const drill = finished[0];
    if (!drill || drill.verdict !== 'blocked') return [];
    const lastVerdict = finished.findIndex((d) => d.verdict !== 'blocked');
    const inARow = lastVerdict === -1 ? finished.length : lastVerdict;
    return [
      {
        key: alertKey('drill-blocked', ctx.runbook.name),
        severity: 'warning',
        message: `restore drill (${drill.tier} tier) was blocked, nothing was restored: ${drill.reason ? oneLine(drill.reason, 400) : 'no reason recorded'}${inARow > 1 ? `; ${inARow} drills in a row blocked` : ''}`,
        evidence: { drillId: drill.id, tier: drill.tier, startedAt: drill.startedAt, reason: drill.reason, inARow },
      },
    ];
  },
};
