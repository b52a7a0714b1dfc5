/**
 * Tests that need a tool the machine may lack (tmux, sqlite3, PostgreSQL)
 * skip without it on a developer's machine, saying why. Under CI=true they
 * fail instead: .ci/run installs every such tool, so a skip there would mean
 * a whole part of the product went untested while the run looked green.
 */
import type { TestContext } from 'vitest';

export function skipWithoutTool(ctx: TestContext, tool: string, availability: { ok: true } | { ok: false; why: string }): void {
  if (availability.ok) return;
  if (process.env.CI === 'true') throw new Error(`${tool} is missing and CI=true, where a test may not be skipped for a missing tool (.ci/run installs it): ${availability.why}`);
  ctx.skip(availability.why);
}
