/**
 * A flat view of the runbook schema: one entry per field, with its
 * documentation. The README reference is rendered from it, and error messages
 * take their "expected …" from it, so both always say what the schema does.
 */
import { z } from 'zod';
import { runbookSchema, type FieldMeta } from './schema.js';

export interface FieldDoc {
  /** Dotted path, `[]` for list items: `sources[].name`, `repository.hot.url`. */
  path: string;
  /** The top-level key the field belongs to. */
  section: string;
  /** A reader's name for the type: `duration`, `list of globs`, `mapping`. */
  type: string;
  required: boolean;
  /** The default as it would be written in YAML; absent when there is none. */
  default?: string;
  description: string;
  example?: string;
  /** Allowed keys, for mappings. */
  keys?: readonly string[];
  /** Allowed keys of each item, for lists of mappings. */
  itemKeys?: readonly string[];
  /** Allowed values, for enumerations. */
  values?: readonly string[];
  /** The schema of the field's value alone (without cross-field checks of its parents). */
  schema: z.core.$ZodType;
}

type AnySchema = z.core.$ZodType;

function metaOf(schema: AnySchema): Partial<FieldMeta> {
  const meta = z.globalRegistry.get(schema) ?? {};
  const out: Partial<FieldMeta> = {};
  if (typeof meta.description === 'string') out.description = meta.description;
  if (typeof meta.example === 'string') out.example = meta.example;
  if (typeof meta.valueType === 'string') out.valueType = meta.valueType;
  return out;
}

function yamlText(value: unknown): string {
  if (typeof value === 'string') return /^[\w./%-]+$/.test(value) ? value : JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(yamlText).join(', ')}]`;
  return String(value);
}

interface Unwrapped {
  core: AnySchema;
  meta: Partial<FieldMeta>;
  required: boolean;
  default?: unknown;
}

/** Peel optional/default/pipe wrappers, keeping the outermost documentation. */
function unwrap(schema: AnySchema): Unwrapped {
  let current = schema;
  const meta: Partial<FieldMeta> = {};
  let required = true;
  let dflt: unknown;
  for (;;) {
    const own = metaOf(current);
    for (const key of ['description', 'example', 'valueType'] as const) {
      if (meta[key] === undefined && own[key] !== undefined) meta[key] = own[key];
    }
    const def = (current as z.core.$ZodTypes)._zod.def;
    if (def.type === 'optional') {
      required = false;
      current = def.innerType;
    } else if (def.type === 'default' || def.type === 'prefault') {
      required = false;
      if (dflt === undefined) dflt = def.defaultValue;
      current = def.innerType;
    } else if (def.type === 'pipe') {
      // Documentation describes what is written, so follow the input side, unless it is a
      // pass-through (`z.any()` refusing literal passwords) or a preprocess (a route's bare
      // name read as `{ sink: name }`) in front of the real shape.
      const input = (def.in as z.core.$ZodTypes)._zod.def.type;
      current = input === 'any' || input === 'unknown' || input === 'transform' ? def.out : def.in;
    } else if (def.type === 'transform') {
      return { core: current, meta, required, default: dflt };
    } else {
      return { core: current, meta, required, default: dflt };
    }
  }
}

function derivedType(core: AnySchema): string {
  const def = (core as z.core.$ZodTypes)._zod.def;
  switch (def.type) {
    case 'string':
      return 'text';
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'enum':
      return `one of ${Object.values(def.entries).join(', ')}`;
    case 'object':
      return 'mapping';
    case 'array':
      return `list of ${derivedType(unwrap(def.element).core)}`;
    default:
      return def.type;
  }
}

function objectShape(core: AnySchema): Record<string, AnySchema> | undefined {
  const def = (core as z.core.$ZodTypes)._zod.def;
  if (def.type === 'object') return def.shape;
  return undefined;
}

function walk(schema: AnySchema, path: string, section: string, out: FieldDoc[]): void {
  const { core, meta, required, default: dflt } = unwrap(schema);
  const def = (core as z.core.$ZodTypes)._zod.def;
  const shape = objectShape(core);
  const elementShape = def.type === 'array' ? objectShape(unwrap(def.element).core) : undefined;
  if (path !== '') {
    const doc: FieldDoc = {
      path,
      section,
      type: meta.valueType ?? derivedType(core),
      required,
      description: meta.description ?? '',
      schema,
    };
    // An object's default is `{}` filled in by its fields' defaults; those are listed per field.
    if (dflt !== undefined && !(typeof dflt === 'object' && dflt !== null && !Array.isArray(dflt))) {
      doc.default = yamlText(dflt);
    }
    if (meta.example !== undefined) doc.example = meta.example;
    if (shape) doc.keys = Object.keys(shape);
    if (elementShape) doc.itemKeys = Object.keys(elementShape);
    if (def.type === 'enum') doc.values = Object.values(def.entries).map(String);
    out.push(doc);
  }
  if (shape) {
    for (const [key, child] of Object.entries(shape)) {
      walk(child, path === '' ? key : `${path}.${key}`, section === '' ? key : section, out);
    }
  } else if (elementShape) {
    for (const [key, child] of Object.entries(elementShape)) {
      walk(child, `${path}[].${key}`, section, out);
    }
  }
}

let cache: readonly FieldDoc[] | undefined;

/** Every field of the runbook schema, in schema order. */
export function runbookFields(): readonly FieldDoc[] {
  if (!cache) {
    const out: FieldDoc[] = [];
    walk(runbookSchema, '', '', out);
    cache = Object.freeze(out);
  }
  return cache;
}

/** The keys allowed at the top level of a runbook. */
export function topLevelKeys(): readonly string[] {
  return Object.keys(runbookSchema.shape);
}

/** The field an issue path points into: numeric segments are list items. */
export function fieldAt(path: readonly PropertyKey[]): FieldDoc | undefined {
  const key = path.reduce<string>((acc, seg) => {
    if (typeof seg === 'number') return `${acc}[]`;
    return acc === '' ? String(seg) : `${acc}.${String(seg)}`;
  }, '');
  return runbookFields().find((f) => f.path === key);
}
