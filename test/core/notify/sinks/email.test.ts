/**
 * The email sink through nodemailer against a real SMTP server (the
 * `smtp-server` package on 127.0.0.1): the mail as received (subject, body,
 * Message-ID, thread headers, authentication), and SMTP replies mapped for
 * the outbox: 451 transient, 550 permanent.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { SinkError } from '../../../../src/core/index.js';
import { emailSink } from '../../../../src/core/notify/sinks/email.js';
import { alertMessage, never } from './message.js';

interface Received {
  from: string;
  to: string[];
  user?: string;
  raw: string;
}

interface SmtpStandIn {
  port: number;
  mails: Received[];
  /** The reply to RCPT TO, e.g. 451 or 550; undefined accepts. */
  refuseWith?: number;
  close(): Promise<void>;
}

async function startSmtp(options: Partial<SMTPServerOptions> = {}): Promise<SmtpStandIn> {
  const standIn: SmtpStandIn = { port: 0, mails: [], close: async () => undefined };
  const server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(_address, _session, callback) {
      if (standIn.refuseWith === undefined) return callback();
      const e = Object.assign(new Error(standIn.refuseWith >= 500 ? 'mailbox unavailable' : 'try again later'), { responseCode: standIn.refuseWith });
      callback(e);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        standIn.mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          ...(typeof session.user === 'string' ? { user: session.user } : {}),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
    ...options,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  standIn.port = (server.server.address() as AddressInfo).port;
  standIn.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return standIn;
}

/** A header of a raw mail, unfolded. */
function header(raw: string, name: string): string | undefined {
  const head = raw.split(/\r?\n\r?\n/)[0] ?? '';
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  return unfolded.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))?.slice(name.length + 1).trim();
}

let smtp: SmtpStandIn | undefined;
afterEach(async () => smtp?.close());

const sinkOn = (port: number, auth?: { user: string; password: string }) =>
  emailSink({
    name: 'mail',
    smtp: { host: '127.0.0.1', port, secure: false, ...(auth ?? {}) },
    from: 'Lifeboat <lifeboat@example.com>',
    to: ['oncall@example.com', 'storage@example.com'],
    timeoutMs: 3000,
  });

describe('email sink', () => {
  it('sends a mail with the subject, a text body, a Message-ID from the idempotency key, and thread headers per raising of the alert', async () => {
    smtp = await startSmtp({
      authOptional: false,
      onAuth(auth, _session, callback) {
        if (auth.username === 'lifeboat' && auth.password === 'smtp-pass-123') return callback(null, { user: auth.username });
        callback(Object.assign(new Error('bad credentials'), { responseCode: 535 }));
      },
    });
    const sink = sinkOn(smtp.port, { user: 'lifeboat', password: 'smtp-pass-123' });
    await sink.send(alertMessage('raised'), never);
    await sink.send(alertMessage('resolved'), never);
    await sink.send(alertMessage('raised', { firstSeen: '2026-12-07T00:00:00.000Z' }), never);

    const [raised, resolved, again] = smtp.mails;
    expect(raised?.user).toBe('lifeboat');
    expect(raised?.from).toBe('lifeboat@example.com');
    expect(raised?.to).toEqual(['oncall@example.com', 'storage@example.com']);
    expect(header(raised?.raw ?? '', 'Subject')).toBe('[lifeboat] CRITICAL app-data: backup of app-data failed: source uploads: ENOENT /srv/uploads');
    expect(header(resolved?.raw ?? '', 'Subject')).toBe('[lifeboat] RESOLVED app-data: backup of app-data failed: source uploads: ENOENT /srv/uploads');
    expect(header(raised?.raw ?? '', 'Message-ID')).toBe('<lifeboat.01JDELIVERYRAISED@example.com>');
    expect(header(resolved?.raw ?? '', 'Message-ID')).toBe('<lifeboat.01JDELIVERYRESOLVED@example.com>');
    const thread = header(raised?.raw ?? '', 'In-Reply-To');
    expect(thread).toMatch(/^<lifeboat\.alert\.[0-9a-f]{32}@example\.com>$/);
    expect(header(raised?.raw ?? '', 'References')).toBe(thread);
    expect(header(resolved?.raw ?? '', 'In-Reply-To')).toBe(thread);
    expect(header(again?.raw ?? '', 'In-Reply-To')).not.toBe(thread);
    const body = (raised?.raw ?? '').split(/\r?\n\r?\n/).slice(1).join('\n\n');
    expect(body).toContain('backup of app-data failed: source uploads: ENOENT /srv/uploads');
    expect(body).toContain('alert key:  backup-failed:app-data');
  });

  it('451 is transient, 550 permanent, a wrong password permanent without the password in the message, no server transient', async () => {
    smtp = await startSmtp();
    const sink = sinkOn(smtp.port);
    smtp.refuseWith = 451;
    const later = (await sink.send(alertMessage(), never).catch((e: unknown) => e)) as SinkError;
    expect(later).toBeInstanceOf(SinkError);
    expect(later.permanent).toBe(false);
    expect(later.message).toMatch(new RegExp(`^email sink "mail" \\(127\\.0\\.0\\.1:${smtp.port}\\): the SMTP server answered 451: `));
    smtp.refuseWith = 550;
    const never_ = (await sink.send(alertMessage(), never).catch((e: unknown) => e)) as SinkError;
    expect(never_.permanent).toBe(true);
    smtp.refuseWith = undefined;
    await sink.send(alertMessage(), never);
    expect(smtp.mails).toHaveLength(1);
    await smtp.close();

    smtp = await startSmtp({
      authOptional: false,
      onAuth: (_auth, _session, callback) => callback(Object.assign(new Error('authentication failed'), { responseCode: 535 })),
    });
    const wrong = (await sinkOn(smtp.port, { user: 'lifeboat', password: 'wrong-pass-456' }).send(alertMessage(), never).catch((e: unknown) => e)) as SinkError;
    expect(wrong.permanent).toBe(true);
    expect(wrong.message).not.toContain('wrong-pass-456');
    const port = smtp.port;
    await smtp.close();
    smtp = undefined;
    const down = (await sinkOn(port).send(alertMessage(), never).catch((e: unknown) => e)) as SinkError;
    expect([down.name, down.permanent]).toEqual(['SinkError', false]);
    expect(down.message).toContain(`email sink "mail" (127.0.0.1:${port}): cannot send (`);
  });
});
