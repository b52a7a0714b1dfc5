/**
 * S3 and network errors in the Backend contract's codes (src/core/backends/backend.ts):
 * missing, permission, unavailable (retryable), archived, I/O. Duck-typed on
 * the SDK's error shape, so this file needs no SDK import.
 */
import { LifeboatError, isLifeboatError } from '../errors.js';

/** The S3 error code (`NoSuchKey`, `SlowDown`, …) or the error's name. */
export function s3ErrorName(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { Code?: unknown; name?: unknown };
  if (typeof e.Code === 'string') return e.Code;
  return typeof e.name === 'string' ? e.name : undefined;
}

const permissionNames = new Set([
  'AccessDenied',
  'AllAccessDisabled',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
  'AccountProblem',
  'InvalidSecurity',
  'NotSignedUp',
  'Forbidden',
]);

/** Names of answers that mean "later": throttling, overload, the server's own timeouts. */
const unavailableNames = new Set([
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  'RequestTimeoutException',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequests',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'ProvisionedThroughputExceededException',
  'TimeoutError',
  'RequestAbortedError',
]);

/** Node's codes for a network that failed under a request. */
const networkCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

/**
 * Turns an SDK or network error into the Backend contract's codes. Messages
 * name the operation, bucket and key and say what to check; they carry the S3
 * error code and HTTP status, never credentials or signed strings.
 */
export function mapS3Error(
  error: unknown,
  context: { op: string; bucket: string; key?: string; location?: string },
): LifeboatError {
  if (isLifeboatError(error)) return error;
  const { op, bucket, key } = context;
  const where = key === undefined ? (context.location ?? `s3://${bucket}`) : `s3://${bucket}/${key}`;
  const rawName = s3ErrorName(error);
  // Answers without a body (HEAD) carry no S3 code: the SDK calls them "Unknown".
  const name = rawName === undefined || genericNames.has(rawName) ? undefined : rawName;
  const status = httpStatus(error);
  const errno = errnoCode(error);
  const message = error instanceof Error ? error.message : String(error);
  const details: Record<string, unknown> = {
    op,
    bucket,
    ...(key === undefined ? {} : { key }),
    ...(name === undefined ? {} : { s3Error: name }),
    ...(status === undefined ? {} : { httpStatus: status }),
    ...(errno === undefined ? {} : { errno }),
  };
  // Not the SDK error itself: its $response holds the signed request headers
  // (a session token among them) for any logger that walks causes.
  const cause = new Error([name ?? rawName, errno, message].filter((x) => x !== undefined && x !== '').join(': '));
  const options = { cause, details };
  const facts = [name, status === undefined ? undefined : `HTTP ${status}`, errno].filter((x) => x !== undefined);
  const label = facts.length === 0 ? message : facts.join(', ');

  if (name === 'NoSuchBucket') {
    return new LifeboatError(
      'BACKEND_NOT_FOUND',
      `${op} ${where}: bucket "${bucket}" does not exist (check the bucket name and region, or run init to create it)`,
      { ...options, details: { ...details, bucketMissing: true } },
    );
  }
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) {
    return new LifeboatError('BACKEND_NOT_FOUND', `${op} ${where}: not found`, options);
  }
  if (name === 'InvalidObjectState') {
    // Permanent: retrying a read of an archived object only burns the retry budget.
    return new LifeboatError(
      'OBJECT_ARCHIVED',
      op === 'thaw'
        ? `${op} ${where}: the object's storage class cannot be thawed (${label})`
        : `${op} ${where}: the object is archived (Glacier or Deep Archive) and must be restored (thawed) before it can be read; restore and restore-drill with --tier cold thaw what they need`,
      { ...options, details: { ...details, archived: true } },
    );
  }
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return new LifeboatError(
      'BACKEND_PERMISSION',
      `${op} ${where}: no AWS credentials found for bucket "${bucket}" (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run with an instance or task role)`,
      options,
    );
  }
  if (/Region is missing/i.test(message)) {
    return new LifeboatError(
      'USAGE',
      `${op} ${where}: no AWS region for bucket "${bucket}" (set region in the runbook's repository, or AWS_REGION)`,
      options,
    );
  }
  if (name === 'RequestTimeTooSkewed') {
    // The SDK corrects its clock offset from this very answer, so the next attempt is signed right.
    return new LifeboatError('BACKEND_UNAVAILABLE', `${op} ${where}: this machine's clock differs from S3's (${label})`, {
      ...options,
      retryable: true,
    });
  }
  if ((name !== undefined && permissionNames.has(name)) || status === 403 || status === 401) {
    return new LifeboatError(
      'BACKEND_PERMISSION',
      `${op} ${where}: access denied to bucket "${bucket}" (${label}): check the AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the instance role) and the bucket policy`,
      options,
    );
  }
  if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed' || status === 301) {
    return new LifeboatError(
      'BACKEND_IO',
      `${op} ${where}: bucket "${bucket}" answers from another region (${label}): set the repository's region`,
      options,
    );
  }
  const transient =
    (name !== undefined && unavailableNames.has(name)) ||
    (status !== undefined && (status >= 500 || status === 429)) ||
    (errno !== undefined && networkCodes.has(errno)) ||
    /socket hang up|aborted|premature close|ECONNRESET|EPIPE|timed out/i.test(message) ||
    (typeof error === 'object' && error !== null && '$retryable' in error && Boolean((error as { $retryable?: unknown }).$retryable));
  if (transient) {
    return new LifeboatError('BACKEND_UNAVAILABLE', `${op} ${where}: S3 is unreachable, throttling or failing (${label})`, {
      ...options,
      retryable: true,
    });
  }
  return new LifeboatError('BACKEND_IO', `${op} ${where}: ${facts.length === 0 ? message : `${label}: ${message}`}`, options);
}

/** Error names that say nothing: the class, not the S3 code. */
const genericNames = new Set(['Error', 'Unknown', 'UnknownError', 'S3ServiceException']);

function httpStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('$metadata' in error)) return undefined;
  const metadata = (error as { $metadata?: { httpStatusCode?: unknown } }).$metadata;
  return typeof metadata?.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
}

function errnoCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    if ('code' in e && typeof e.code === 'string') return e.code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
