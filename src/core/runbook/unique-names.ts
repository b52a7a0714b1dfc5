/**
 * The refinement a list of named entries gets (sources, copies): each name
 * once, a repeat reported at its own `[index].name` with the first entry that
 * has it. Entries that are not objects or have no string name are left to
 * their own schema's messages.
 */
import type { z } from 'zod';

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `noun`: what an entry is ("source"); `field`: the list's field name as messages write it ("sources"). */
export function uniqueNames(noun: string, field: string): (list: unknown[], ctx: z.RefinementCtx) => void {
  return (list, ctx) => {
    const seen = new Map<string, number>();
    list.forEach((item, index) => {
      const name = isRecord(item) ? item.name : undefined;
      if (typeof name !== 'string') return;
      const first = seen.get(name);
      if (first === undefined) {
        seen.set(name, index);
        return;
      }
      ctx.addIssue({
        code: 'custom',
        path: [index, 'name'],
        message: `Duplicate ${noun} name "${name}", also used by ${field}[${first}] (expected each name once)`,
        input: name,
      });
    });
  };
}
