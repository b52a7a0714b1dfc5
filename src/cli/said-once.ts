/**
 * One message, printed once. A failing run used to print its error three or
 * four times on stderr: as the stage that failed, again as the next stage that
 * failed of the same cause, inside the ALERT line, and as the command's own
 * result line and summary. The first of them, written as it happened, keeps
 * the text in full; a later line that quotes it says "see above" instead.
 *
 * It compares text, not error objects, because the lines come from different
 * places (engine events, alert messages that quote an error cut to one line,
 * a command's result): a later line "quotes" an earlier text when it holds
 * that text's opening, long enough not to match by chance.
 */

/** A quote shorter than this is not recognised: short texts ("timeout") repeat by chance. */
const MIN_QUOTE = 24;
/** How much of a said text's opening must appear for a line to count as quoting it. */
const OPENING = 60;

export const SEE_ABOVE = 'see above';

export class SaidOnce {
  private readonly said: string[] = [];

  /** Remember a text that was just written in full. */
  note(text: string | undefined): void {
    const flat = flatten(text ?? '');
    if (flat.length < MIN_QUOTE) return;
    this.said.push(flat);
    // "failed: <error>", "transfer-pending: <error>": a later line quotes the error, not the label.
    const unlabelled = flat.replace(/^[\w -]{1,32}: /, '');
    if (unlabelled !== flat && unlabelled.length >= MIN_QUOTE) this.said.push(unlabelled);
  }

  /**
   * `line` with what it repeats of an earlier text replaced by "see above":
   * the said text it quotes (a result line quoting a stage's error), or the
   * whole line when an earlier text already quoted it (a summary whose error
   * an ALERT line carried). A cut-off "…" belongs to the quote. Unchanged
   * when it repeats nothing.
   */
  refer(line: string): string {
    const flat = flatten(line);
    for (const said of this.said) {
      const at = flat.indexOf(said.slice(0, OPENING));
      if (at !== -1) {
        let end = at + sameRun(flat, at, said, 0);
        if (flat[end] === '…') end++;
        return `${flat.slice(0, at)}${SEE_ABOVE}${flat.slice(end)}`;
      }
      if (flat.length < MIN_QUOTE) continue;
      const from = said.indexOf(flat.slice(0, OPENING));
      if (from === -1) continue;
      const run = sameRun(flat, 0, said, from);
      // Quoted up to its end, or up to where the earlier text cut it short.
      if (run === flat.length || said[from + run] === '…') return SEE_ABOVE;
    }
    return line;
  }

  /**
   * `refer(line)`, or undefined when nothing but a label would be left
   * ("snapshot failed: see above", "transfer-pending: see above"): such a
   * line says nothing new.
   */
  referOrDrop(line: string): string | undefined {
    const referred = this.refer(line);
    return /^[\w -]{0,32}:? ?see above$/.test(referred) ? undefined : referred;
  }
}

/** How many characters `a` from `i` and `b` from `j` have in common. */
function sameRun(a: string, i: number, b: string, j: number): number {
  let n = 0;
  while (i + n < a.length && j + n < b.length && a[i + n] === b[j + n]) n++;
  return n;
}

/** What a single-line rendering makes of a text (alerts join lines with " / "). */
function flatten(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join(' / ');
}
