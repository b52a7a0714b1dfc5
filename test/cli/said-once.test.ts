/** One message printed once (issue 17): how a later line refers to an error said in full before it. */
import { describe, expect, it } from 'vitest';
import { SaidOnce } from '../../src/cli/said-once.js';

const error = "s3://orders/p is not reachable (save s3://orders/p/data/2e/2e99: S3 is unreachable, throttling or failing (ServiceUnavailable, HTTP 503)); 4 object(s), 1049789 bytes are safe in staging";

describe('SaidOnce', () => {
  it('replaces a quoted error with "see above", keeping what the line adds before and after it', () => {
    const said = new SaidOnce();
    said.note(error);
    expect(said.refer(`backup failed in stage transfer: ${error} (TRANSFER_PENDING)`)).toBe('backup failed in stage transfer: see above (TRANSFER_PENDING)');
  });

  it('takes an alert\'s cut-off quote ("…") as the quote', () => {
    const said = new SaidOnce();
    said.note(error);
    expect(said.refer(`backup failed in stage transfer: ${error.slice(0, 120)}… (TRANSFER_PENDING)`)).toBe('backup failed in stage transfer: see above (TRANSFER_PENDING)');
  });

  it('a line that an earlier one quoted in full is "see above" as a whole', () => {
    const said = new SaidOnce();
    said.note(`ALERT [critical] failed-run:orders: backup failed: ${error} (BACKEND_NOT_FOUND)`);
    expect(said.refer(error)).toBe('see above');
  });

  it('a label with nothing but a repeated error is dropped; a line with something new is kept', () => {
    const said = new SaidOnce();
    said.note(error);
    expect(said.referOrDrop(`snapshot failed: ${error}`)).toBeUndefined();
    expect(said.referOrDrop(`transfer-pending: ${error}`)).toBeUndefined();
    expect(said.referOrDrop('failed: source uploads: EACCES: permission denied, open /srv/uploads/secret')).toBe('failed: source uploads: EACCES: permission denied, open /srv/uploads/secret');
  });

  it('an error noted with its label is recognised without it', () => {
    const said = new SaidOnce();
    said.note(`failed: ${error}`);
    expect(said.refer(`backup was partial: 1 source failed: data (${error})`)).toBe('backup was partial: 1 source failed: data (see above)');
  });

  it('short texts are never matched: they repeat by chance', () => {
    const said = new SaidOnce();
    said.note('timeout');
    expect(said.refer('drill failed: timeout')).toBe('drill failed: timeout');
  });
});
