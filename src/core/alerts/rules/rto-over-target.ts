/**
 * The latest drill that measured an RTO took longer than its target. The
 * target is the one the drill was judged against (its record), so the alert
 * and the drill's verdict agree. A failed drill measured nothing: the previous
 * measurement stands (and drill-failed speaks for the failure).
 */
import { compactDuration } from '../describe.js';
import { alertKey, measuredDrills, type AlertCondition, type AlertRule, type RuleContext } from '../rule.js';

export const rtoOverTargetRule: AlertRule = {
  name: 'rto-over-target',
  evaluate(ctx: RuleContext): AlertCondition[] {
    const drill = measuredDrills(ctx.drills)[0];
    if (!drill || drill.rtoMs <= drill.targetMs) return [];
    const took = drill.estimated ? `drill estimated ${compactDuration(drill.rtoMs)} (${drill.tier} tier, not measured)` : `drill took ${compactDuration(drill.rtoMs)}`;
    const slowest = [...drill.phases].sort((a, b) => b.durationMs - a.durationMs)[0];
    const phase = slowest ? `; slowest phase ${slowest.name} ${compactDuration(slowest.durationMs)}` : '';
    return [
      {
        key: alertKey('rto-over-target', ctx.runbook.name),
        severity: 'warning',
        message: `${took}, RTO target ${compactDuration(drill.targetMs)}${phase}`,
        evidence: { drillId: drill.id, rtoMs: drill.rtoMs, targetMs: drill.targetMs, snapshotId: drill.snapshotId, startedAt: drill.startedAt, estimated: drill.estimated === true, slowestPhase: slowest?.name },
      },
    ];
  },
};
