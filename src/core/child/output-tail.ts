/**
 * The end of a child's output, for the record of a failure: the last
 * `maxChars` characters kept while it runs (bounded, however much it prints),
 * and its last non-blank lines once it is done.
 */
export class OutputTail {
  private text = '';

  constructor(private readonly maxChars: number) {}

  push(chunk: string | Buffer): void {
    this.text = (this.text + (typeof chunk === 'string' ? chunk : chunk.toString('utf8'))).slice(-this.maxChars);
  }

  /** The last `count` lines that are not blank. */
  lines(count: number): string[] {
    return this.text.split(/\r?\n/).filter((l) => l.trim() !== '').slice(-count);
  }
}
