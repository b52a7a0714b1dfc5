/**
 * `lifeboat store migrate` and `lifeboat store import <state.json>`: the state
 * store's own housekeeping. Which store is configured is decided by core
 * (storeSetting: lifeboat.yaml `store:`, LIFEBOAT_STORE_URL, else the JSON file).
 */
import { resolve } from 'node:path';
import { ExitCode, importState, LifeboatError, migrateConfiguredStore, readStateFileForImport, STORE_URL_ENV, storeSetting } from '../src/core/index.js';
import { defineCommand } from './command.js';
import { rawArgs } from './support/args.js';

const ACTIONS = ['migrate', 'import'] as const;
type Action = (typeof ACTIONS)[number];

export const storeCommand = defineCommand({
  name: 'store',
  summary: 'The state store: apply its migrations, or import a JSON state file into it',
  description:
    '`store migrate` applies pending PostgreSQL migrations under an advisory lock and says from which schema version to which (a no-op when up to date; the JSON store has nothing to migrate). ' +
    '`store import <state.json>` writes every run, drill, alert (with its deliveries) and audit entry of a JSON state file into the configured PostgreSQL store, by id: importing twice doubles nothing. ' +
    `The store is PostgreSQL when lifeboat.yaml has store: { url: … } or ${STORE_URL_ENV} is set.`,
  options: {},
  positionals: [
    { name: 'action', description: 'migrate or import', required: true },
    { name: 'file', description: 'the state file to import (import only)' },
  ],
  schema: rawArgs.transform((r, ctx) => {
    const action = r.positionals[0];
    if (!(ACTIONS as readonly (string | undefined)[]).includes(action)) {
      ctx.addIssue({ code: 'custom', message: action === undefined ? 'missing action (expected migrate or import)' : `unknown action "${action}" (expected migrate or import)` });
    }
    if (action === 'import' && r.positionals.length !== 2) {
      ctx.addIssue({ code: 'custom', message: '`store import` takes one state file (e.g. lifeboat store import .lifeboat/state.json)' });
    }
    if (action === 'migrate' && r.positionals.length > 1) ctx.addIssue({ code: 'custom', message: '`store migrate` takes no arguments' });
    return { action: action as Action, file: r.positionals[1] };
  }),
  access: 'anyone',
  async run(args, ctx) {
    const location = { env: ctx.env, home: ctx.home, ...(ctx.config ? { config: ctx.config } : {}) };
    if (args.action === 'migrate') {
      const m = await migrateConfiguredStore(location);
      if (m.kind === 'json') {
        return { exitCode: ExitCode.ok, summary: `Nothing to migrate: the state store is the JSON file ${m.path} (no schema)`, data: m };
      }
      const summary =
        m.applied.length === 0
          ? `Store at ${m.where} is up to date (schema ${m.to}); nothing to migrate`
          : `Store at ${m.where} migrated from schema ${m.from} to ${m.to} (applied ${m.applied.join(', ')})`;
      return { exitCode: ExitCode.ok, summary, data: m };
    }
    const file = resolve(ctx.cwd, args.file ?? '');
    const setting = storeSetting(location);
    if (setting.kind === 'json') {
      throw new LifeboatError(
        'USAGE',
        `No PostgreSQL store is configured, so there is nowhere to import ${file} into: the state store is the JSON file ${setting.path}. ` +
          `Set ${STORE_URL_ENV} or store: { url: { env: ${STORE_URL_ENV} } } in lifeboat.yaml, then run \`lifeboat store migrate\` and this again.`,
      );
    }
    // The file is checked whole before anything is written: a damaged one imports nothing.
    const state = await readStateFileForImport(file);
    const store = await ctx.store();
    // A read first: with the store unreachable, refuse now (its clear error) rather than spool part of the file.
    await store.listRuns({ limit: 1 });
    const counts = await importState(state, store, ctx.signal);
    return {
      exitCode: ExitCode.ok,
      summary: `Imported ${file}: ${counts.runs} runs, ${counts.drills} drills, ${counts.alerts} alerts, ${counts.deliveries} deliveries, ${counts.audit} audit entries (by id: importing again changes nothing)`,
      data: { file, ...counts },
    };
  },
});
