/**
 * A small JSON Schema (draft-07) checker for the keywords the runbook schema
 * uses, so tests can check YAML against schema/runbook.schema.json without a
 * validator dependency. A keyword it does not know fails loudly instead of
 * being skipped: a schema that grows one must grow this too.
 */
type Schema = Record<string, unknown>;

const KNOWN = new Set([
  '$schema',
  'title',
  'description',
  'default',
  'type',
  'properties',
  'required',
  'additionalProperties',
  'propertyNames',
  'items',
  'minItems',
  'anyOf',
  'enum',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'exclusiveMinimum',
]);

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMatches(actual: string, expected: string): boolean {
  return actual === expected || (expected === 'number' && actual === 'integer');
}

/** Every place `value` breaks `schema`, as "path: what"; empty when it conforms. */
export function schemaProblems(schema: Schema, value: unknown, at = '$'): string[] {
  for (const key of Object.keys(schema)) if (!KNOWN.has(key)) throw new Error(`json-schema-check does not know the keyword "${key}" (at ${at})`);
  const problems: string[] = [];
  const actual = typeOf(value);
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    if (!types.some((t) => typeMatches(actual, t))) return [`${at}: is ${actual}, expected ${types.join(' or ')}`];
  }
  if (schema.enum !== undefined && !(schema.enum as unknown[]).includes(value)) problems.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (schema.anyOf !== undefined) {
    const branches = (schema.anyOf as Schema[]).map((s) => schemaProblems(s, value, at));
    if (!branches.some((b) => b.length === 0)) problems.push(`${at}: matches no branch of anyOf (${branches.map((b) => b.join('; ')).join(' | ')})`);
  }
  if (typeof value === 'string') {
    if (typeof schema.minLength === 'number' && [...value].length < schema.minLength) problems.push(`${at}: shorter than ${schema.minLength}`);
    if (typeof schema.maxLength === 'number' && [...value].length > schema.maxLength) problems.push(`${at}: longer than ${schema.maxLength}`);
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) problems.push(`${at}: does not match ${schema.pattern}`);
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) problems.push(`${at}: below ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) problems.push(`${at}: above ${schema.maximum}`);
    if (typeof schema.exclusiveMinimum === 'number' && value <= schema.exclusiveMinimum) problems.push(`${at}: not above ${schema.exclusiveMinimum}`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) problems.push(`${at}: fewer than ${schema.minItems} items`);
    if (schema.items !== undefined) value.forEach((item, i) => problems.push(...schemaProblems(schema.items as Schema, item, `${at}[${i}]`)));
  }
  if (actual === 'object') {
    const object = value as Record<string, unknown>;
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    for (const name of (schema.required ?? []) as string[]) if (!(name in object)) problems.push(`${at}: missing ${name}`);
    for (const [name, item] of Object.entries(object)) {
      const where = `${at}.${name}`;
      if (schema.propertyNames !== undefined) problems.push(...schemaProblems(schema.propertyNames as Schema, name, `${where} (name)`));
      if (name in properties) problems.push(...schemaProblems(properties[name]!, item, where));
      else if (schema.additionalProperties === false) problems.push(`${where}: not allowed`);
      else if (typeof schema.additionalProperties === 'object' && schema.additionalProperties !== null) problems.push(...schemaProblems(schema.additionalProperties as Schema, item, where));
    }
  }
  return problems;
}
