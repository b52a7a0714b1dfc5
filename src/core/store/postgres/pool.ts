/**
 * Every pg pool Lifeboat opens (the store's, a migration's, the leader
 * lease's), made one way: a connection the server drops must fail the query
 * that used it, never the process. pg emits 'error' on a client whose
 * connection dies; pg-pool listens for it only while the client is idle, so a
 * client checked out at that moment (mid-transaction, or taken from the pool
 * before its end was noticed) would raise an unheard 'error' and kill the
 * process, and a running backup with it. The failure still reaches the query
 * (or the next one), which is what callers handle.
 *
 * pg is loaded here, on first use, so a JSON user's start-up never parses it.
 */
import type { Pool, PoolConfig } from 'pg';

export async function openPool(config: PoolConfig): Promise<Pool> {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool(config);
  pool.on('error', () => undefined);
  pool.on('connect', (client) => void client.on('error', () => undefined));
  return pool;
}
