/**
 * `agent-down:<host>` names a host, not a runbook (issue 19): acknowledging it
 * (`lifeboat ack`, Slack's Acknowledge button) must not look for a runbook
 * called like the host. From Slack it is decided as a key naming no runbook:
 * someone on some runbook's access.backup may, someone on none may not.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ackCommand } from '../../commands/ack.js';
import { invokeCommand } from '../../commands/invoke.js';
import { ExitCode } from '../../src/core/errors.js';
import { useTempDirs } from '../helpers/temp-dirs.js';
import { commandContext, openAlert } from '../commands/alerts-context.js';

const tempDir = useTempDirs('agent-down-ack');

describe('ack agent-down:<host>', () => {
  it('from Slack: allowed to someone on a runbook’s access.backup, refused to someone on none; the host is never taken for a runbook', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'runbooks'));
    await writeFile(
      join(dir, 'runbooks', 'app-data.yaml'),
      [
        'name: app-data',
        'host: web-01',
        `sources: [{ name: data, path: ${JSON.stringify(dir)} }]`,
        `repository: { hot: { url: ${JSON.stringify(`file://${dir}/repo`)} }, password: { env: LIFEBOAT_PASSWORD } }`,
        'objectives: { rpo: 26h, rto: 5m }',
        'access: { backup: [UALICE001] }',
        '',
      ].join('\n'),
    );
    const bob = commandContext({ dir, actor: { face: 'slack', user: 'UBOB00001' } });
    await bob.memory.putAlert(openAlert('agent-down:web-01', { runbook: 'app-data', rule: 'agent-down', message: 'The agent on web-01 is lost' }));

    const refused = await invokeCommand({ command: ackCommand as never, argv: ['agent-down:web-01'] }, bob);
    expect(refused.exitCode).toBe(ExitCode.failed);
    expect(refused.summary).toBe("you may not ack without naming a runbook: you are on no runbook's access.backup");

    const alice = commandContext({ dir, store: bob.memory, actor: { face: 'slack', user: 'UALICE001' } });
    const ok = await invokeCommand({ command: ackCommand as never, argv: ['agent-down:web-01'] }, alice);
    expect(ok.exitCode, ok.summary).toBe(ExitCode.ok);
    expect(await alice.memory.getAlert('agent-down:web-01')).toMatchObject({ ackedBy: 'UALICE001', status: 'open' });

    const empty = await invokeCommand({ command: ackCommand as never, argv: ['agent-down:'] }, commandContext({ dir, actor: { face: 'cli', user: 'root' } }));
    expect(empty.exitCode).toBe(ExitCode.usage);
  });
});
