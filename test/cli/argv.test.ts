/**
 * commands/support/argv.ts: argv parsed on commander from each command's
 * spec, as every face does through parseCommandArgs — nothing printed, every
 * mistake a USAGE error (exit 2) that says what and suggests a near name.
 */
import { describe, expect, it } from 'vitest';
import { findCommand, parseCommandArgs } from '../../commands/index.js';
import { parseArgv, usageLine } from '../../commands/support/argv.js';
import { closestName, ExitCode, LifeboatError } from '../../src/core/index.js';

const command = (name: string) => findCommand(name)!;
const usageError = (f: () => unknown): LifeboatError => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(LifeboatError);
    expect((e as LifeboatError).exitCode).toBe(ExitCode.usage);
    return e as LifeboatError;
  }
  throw new Error('expected a usage error');
};

describe('parseArgv', () => {
  it('keeps the RawArgs shape the schemas read: flags by their spec names, repeatable options as lists', () => {
    expect(parseArgv(command('restore'), ['app', 'latest', '-t', '/tmp/x', '-n', '--include', 'a/**', '--include', 'b', '--tier=cold'])).toEqual({
      positionals: ['app', 'latest'],
      options: { target: '/tmp/x', 'dry-run': true, include: ['a/**', 'b'], tier: 'cold' },
    });
    // A boolean named no-x is that flag, not commander's negation of x.
    expect(parseArgv(command('forget'), ['app', '--no-prune'])).toEqual({ positionals: ['app'], options: { 'no-prune': true } });
    expect(parseArgv(command('forget'), ['app'])).toEqual({ positionals: ['app'], options: {} });
    // Short flags combine; a value that starts with a dash is still the value of the option before it.
    expect(parseArgv(command('ls'), ['app', 'latest', '-lR']).options).toEqual({ long: true, recursive: true });
    expect(parseArgv(command('find'), ['app', 'x', '--size', '-10KiB']).options).toEqual({ size: '-10KiB' });
    // After `--`, everything is a positional.
    expect(parseArgv(command('dump'), ['app', 'latest', '--', '-odd-name']).positionals).toEqual(['app', 'latest', '-odd-name']);
  });

  it('--read-data stands alone or takes a value that looks like one', () => {
    const check = command('check');
    expect(parseCommandArgs(check, ['app', '--read-data'])).toEqual({ runbook: 'app', readData: 1 });
    expect(parseCommandArgs(check, ['--read-data', 'app'])).toEqual({ runbook: 'app', readData: 1 });
    expect(parseCommandArgs(check, ['app', '--read-data', '10%'])).toEqual({ runbook: 'app', readData: 0.1 });
    expect(parseCommandArgs(check, ['app', '--read-data=2.5%'])).toEqual({ runbook: 'app', readData: 0.025 });
    expect(usageError(() => parseCommandArgs(check, ['app', '--read-data', '10'])).message).toContain('Percentage without a % sign');
  });

  it('says what is wrong, with did-you-mean for a flag and the usage line where it helps', () => {
    expect(usageError(() => parseArgv(command('restore'), ['app', '--traget', 'x'])).message).toBe('restore: unknown option --traget (did you mean --target?)');
    expect(usageError(() => parseArgv(command('hosts'), ['--all'])).message).toBe('hosts: unknown option --all (hosts takes no options)');
    expect(usageError(() => parseArgv(command('forget'), ['app', '--dry-run=yes'])).message).toBe('forget: --dry-run takes no value (got --dry-run=yes)');
    expect(usageError(() => parseArgv(command('history'), ['--limit'])).message).toBe(`history: --limit needs a value (N) (usage: ${usageLine(command('history'))})`);
    expect(usageError(() => parseArgv(command('backup'), [])).message).toBe('backup: missing <runbook> (usage: lifeboat backup <runbook>)');
    expect(usageError(() => parseArgv(command('backup'), ['a', 'b'])).message).toBe('backup: unexpected argument "b" (usage: lifeboat backup <runbook>)');
    expect(usageError(() => parseArgv(command('restore'), ['app'])).message).toMatch(/^restore: --target DIR is required \(unless --estimate\) \(usage: lifeboat restore <runbook> \[snapshot\] --target DIR /);
    expect(parseArgv(command('restore'), ['app', '--tier', 'cold', '--estimate']).options).toEqual({ tier: 'cold', estimate: true });
  });
});

describe('closestName', () => {
  it('suggests typos, swaps and missing letters; not for short or far words', () => {
    expect(closestName('snapshot', ['snapshots', 'status'])).toBe('snapshots');
    expect(closestName('dmeo', ['demo', 'orders'])).toBe('demo');
    expect(closestName('--traget', ['--target', '--tier'])).toBe('--target');
    expect(closestName('nope', ['backup', 'restore', 'init'])).toBeUndefined();
    expect(closestName('c', ['a', 'b'])).toBeUndefined();
  });
});
