/**
 * The scrypt parameters a key file may ask for. A key file is plaintext anyone
 * with write access to the bucket can replace, so its parameters are judged
 * before any work: N = 2^30 would stall every command for hours, or exhaust
 * memory. Alone (imports nothing) so start-up can judge a key file before the
 * rest of the engine is loaded (prefetch-repository-key.ts).
 */

/**
 * scrypt bounds: N a power of two up to 2^20, r ≤ 32, p ≤ 16, at most 256 MiB
 * of memory (128·N·r) and 2^25 for N·r·p (~64× the default cost, ~20 s here).
 */
export const scryptBounds = { maxN: 2 ** 20, maxR: 32, maxP: 16, maxMemory: 256 * 1024 * 1024, maxWork: 2 ** 25 } as const;

/** Why these parameters are refused, or undefined when they are acceptable. */
export function scryptParamsProblem(params: { N: unknown; r: unknown; p: unknown }): string | undefined {
  const { N, r, p } = params;
  if (!Number.isSafeInteger(N) || !Number.isSafeInteger(r) || !Number.isSafeInteger(p)) return 'N, r and p must be integers';
  const [n, rr, pp] = [N as number, r as number, p as number];
  if (n < 2 || n > scryptBounds.maxN || (n & (n - 1)) !== 0) return `N=${n} is not a power of two between 2 and 2^20`;
  if (rr < 1 || rr > scryptBounds.maxR) return `r=${rr} is outside 1..${scryptBounds.maxR}`;
  if (pp < 1 || pp > scryptBounds.maxP) return `p=${pp} is outside 1..${scryptBounds.maxP}`;
  if (128 * n * rr > scryptBounds.maxMemory) return `N=${n}, r=${rr} needs more than 256 MiB`;
  if (n * rr * pp > scryptBounds.maxWork) return `N·r·p=${n * rr * pp} is more work than allowed (2^25)`;
  return undefined;
}
