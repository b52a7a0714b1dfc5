/**
 * `@handle` → member ids, through usergroups.list + usergroups.users.list,
 * cached for `ttlMs` (default 5 min): access checks on every command must not
 * cost two Web API calls each, and a membership change shows within minutes.
 */
import type { GroupResolver } from '../../commands/support/access.js';
import type { SlackApi } from './api.js';

export interface GroupCacheOptions {
  ttlMs?: number;
  nowMs?: () => number;
}

export function cachedGroupResolver(api: Pick<SlackApi, 'listUsergroups' | 'usergroupMembers'>, options: GroupCacheOptions = {}): GroupResolver & { clear(): void } {
  const ttl = options.ttlMs ?? 5 * 60_000;
  const now = options.nowMs ?? Date.now;
  let groups: { at: number; value: Promise<Map<string, string>> } | undefined;
  const members = new Map<string, { at: number; value: Promise<string[]> }>();
  const fresh = (at: number) => now() - at < ttl;

  const handles = (): Promise<Map<string, string>> => {
    if (!groups || !fresh(groups.at)) {
      const value = api.listUsergroups().then((list) => new Map(list.map((g) => [g.handle.toLowerCase(), g.id])));
      // A failed lookup is not cached: the next request asks again.
      value.catch(() => {
        if (groups?.value === value) groups = undefined;
      });
      groups = { at: now(), value };
    }
    return groups.value;
  };

  const resolve = async (handle: string): Promise<readonly string[]> => {
    const id = (await handles()).get(handle.replace(/^@/, '').toLowerCase());
    if (id === undefined) return [];
    let entry = members.get(id);
    if (!entry || !fresh(entry.at)) {
      const value = api.usergroupMembers(id);
      value.catch(() => {
        if (members.get(id)?.value === value) members.delete(id);
      });
      entry = { at: now(), value };
      members.set(id, entry);
    }
    return entry.value;
  };
  return Object.assign(resolve, {
    clear: () => {
      groups = undefined;
      members.clear();
    },
  });
}
