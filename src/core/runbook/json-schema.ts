/**
 * The runbook format as a JSON Schema, for editors (yaml-language-server in
 * VS Code, Neovim, Helix…): completion, hover text and red squiggles while
 * typing. Generated from the zod schema (./schema.ts), so it cannot say
 * anything the loader does not; scripts/gen-runbook-schema.ts writes it to
 * schema/runbook.schema.json and a test keeps that file current.
 *
 * It describes what may be *written* (zod's input side), and it is looser
 * than the loader where JSON Schema cannot follow (cron syntax, durations,
 * time zones, cross-field rules): an editor that accepts a file is a hint,
 * `lifeboat runbooks validate` is the judge.
 */
import { z } from 'zod';
import { runbookSchema } from './schema.js';

/** draft-07: the draft editors' YAML plugins understand best. */
const TARGET = 'draft-7' as const;

type Json = Record<string, unknown>;

type PipeDef = { type: string; in?: z.core.$ZodType; out?: z.core.$ZodType };
const defOf = (schema: z.core.$ZodType) => schema._zod.def as unknown as PipeDef;

/** The `out` of a pipe that starts from z.any(): a guard that refuses a written secret, then the real shape. */
function anyGuardedPipe(schema: z.core.$ZodType): z.core.$ZodType | undefined {
  const def = defOf(schema);
  if (def.type !== 'pipe' || def.in === undefined || def.out === undefined) return undefined;
  return def.in._zod.def.type === 'any' ? def.out : undefined;
}

/** The shape behind zod's preprocess (a pipe from a transform), whose input is whatever the transform takes. */
function preprocessed(schema: z.core.$ZodType): z.core.$ZodType | undefined {
  const def = defOf(schema);
  return def.type === 'pipe' && def.in !== undefined && def.in._zod.def.type === 'transform' ? def.out : undefined;
}

function convert(schema: z.core.$ZodType): Json {
  return z.toJSONSchema(schema, {
    target: TARGET,
    io: 'input',
    unrepresentable: 'any',
    override: (ctx) => {
      const json = ctx.jsonSchema as Json;
      // Secrets and routes are `z.any()` guards piped into their real shape: describe the shape.
      const out = anyGuardedPipe(ctx.zodSchema);
      if (out !== undefined) {
        // A route is a sink name or `{ sink, severity }` (a preprocess turns the name into the mapping).
        const inner = preprocessed(out);
        const shape = inner !== undefined ? { anyOf: [{ type: 'string' }, nested(inner)] } : nested(out);
        for (const key of Object.keys(json)) if (key !== 'description') delete json[key];
        Object.assign(json, shape, json.description !== undefined ? { description: json.description } : {});
      }
      // The docs' `example` is YAML text and `valueType` a reader's word: fold them into the hover text.
      const example = json.example;
      const valueType = json.valueType;
      delete json.example;
      delete json.valueType;
      if (typeof json.description === 'string') {
        const extra = [typeof valueType === 'string' ? `(${valueType})` : '', typeof example === 'string' ? `Example: ${example}` : ''].filter(Boolean).join(' ');
        if (extra !== '') json.description = `${json.description} ${extra}`;
      }
    },
  }) as Json;
}

/** A part's schema, to be placed inside another (no `$schema` of its own). */
function nested(schema: z.core.$ZodType): Json {
  const { $schema: _drop, ...rest } = convert(schema);
  return rest;
}

/** The JSON Schema of a runbook file, with a title and an id-free header (it is read from a file). */
export function runbookJsonSchema(): Json {
  const schema = convert(runbookSchema);
  const { $schema, ...rest } = schema;
  return {
    $schema,
    title: 'Lifeboat runbook',
    description: 'One YAML file per runbook in the runbooks folder: what to back up, where to, how to verify it, how long to keep it and how fast it must come back. Generated from src/core/runbook/schema.ts by `npm run schema`; do not edit.',
    ...rest,
  };
}

/** The schema file's text: stable formatting, so the generated file diffs cleanly. */
export function runbookJsonSchemaText(): string {
  return `${JSON.stringify(runbookJsonSchema(), null, 2)}\n`;
}
