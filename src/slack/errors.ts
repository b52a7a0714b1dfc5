/** Coded errors of the Slack face (configuration and Web API), in the manner of Bolt's own `errors.ts`. */
export type SlackFaceErrorCode = 'SLACK_CONFIG' | 'SLACK_API' | 'SLACK_USAGE';

export class SlackFaceError extends Error {
  readonly code: SlackFaceErrorCode;
  readonly retryable: boolean;
  constructor(code: SlackFaceErrorCode, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SlackFaceError';
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}
