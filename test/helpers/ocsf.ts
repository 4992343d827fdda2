// Validation of OCSF events against the vendored OCSF 1.5.0 schema export (test/audit/fixtures): the class and its
// objects become a JSON Schema (draft-07: required attributes, data types with their patterns and ranges, enums of the
// *_id attributes, at_least_one constraints, no attributes outside the schema or of an undeclared profile), checked by Ajv.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';

interface Attr { type: string; requirement?: string; is_array?: boolean; object_type?: string; profile?: string; enum?: string[] }
interface Obj { attributes: Record<string, Attr>; constraints?: { at_least_one?: string[]; just_one?: string[] } | null }
interface Export {
  version: string;
  classes: Record<string, Obj & { uid: number }>;
  objects: Record<string, Obj>;
  types: Record<string, { type?: string; regex?: string; max_len?: number; range?: [number, number]; values?: unknown[] }>;
}

export const OCSF: Export = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'audit', 'fixtures', 'ocsf-1.5.0-api-activity.json'), 'utf8'));

const BASE: Record<string, object> = {
  string_t: { type: 'string' }, integer_t: { type: 'integer' }, long_t: { type: 'integer' }, float_t: { type: 'number' },
  boolean_t: { type: 'boolean' }, json_t: {},
};

function typeSchema(name: string): object {
  if (BASE[name]) return BASE[name]!;
  const t = OCSF.types[name];
  if (!t) throw new Error(`OCSF type ${name} is not in the vendored schema`);
  const base = t.type ? typeSchema(t.type) : {};
  return {
    ...base,
    ...(t.regex ? { pattern: t.regex } : {}),
    ...(t.max_len ? { maxLength: t.max_len } : {}),
    ...(t.range ? { minimum: t.range[0], maximum: t.range[1] } : {}),
  };
}

function attrSchema(a: Attr): object {
  let one: object;
  // An object outside the vendored subset may not be used (false: nothing validates), rather than pass unchecked.
  if (a.object_type) one = a.object_type === 'object' ? { type: 'object' } : OCSF.objects[a.object_type] ? { $ref: `#/definitions/${a.object_type}` } : false as unknown as object;
  else {
    one = typeSchema(a.type);
    if (a.enum) one = { ...one, enum: a.enum.map((v) => (a.type === 'integer_t' || a.type === 'long_t' ? Number(v) : v)) };
  }
  return a.is_array ? { type: 'array', items: one } : one;
}

/** An object or class as JSON Schema. Attributes of a profile count only when the event declares that profile. */
function objectSchema(o: Obj, profiles: readonly string[]): object {
  const props: Record<string, object> = {};
  const required: string[] = [];
  for (const [name, a] of Object.entries(o.attributes)) {
    if (a.profile && !profiles.includes(a.profile)) continue;
    props[name] = attrSchema(a);
    if (a.requirement === 'required') required.push(name);
  }
  const s: Record<string, unknown> = { type: 'object', properties: props, required, additionalProperties: false };
  if (o.constraints?.at_least_one) s.anyOf = o.constraints.at_least_one.map((k) => ({ required: [k] }));
  if (o.constraints?.just_one) s.oneOf = o.constraints.just_one.map((k) => ({ required: [k] }));
  return s;
}

const validators = new Map<string, ValidateFunction>();

/** Errors of one event against class `name` (empty when valid), including OCSF's rule type_uid = class_uid * 100 + activity_id. */
export function ocsfErrors(name: string, event: Record<string, unknown>, profiles: readonly string[] = []): string[] {
  const key = `${name}:${profiles.join(',')}`;
  let validate = validators.get(key);
  if (!validate) {
    const cls = OCSF.classes[name];
    if (!cls) throw new Error(`OCSF class ${name} is not in the vendored schema`);
    const definitions = Object.fromEntries(Object.entries(OCSF.objects).map(([k, o]) => [k, objectSchema(o, profiles)]));
    validate = new Ajv({ allErrors: true, strict: false }).compile({ $schema: 'http://json-schema.org/draft-07/schema#', definitions, ...objectSchema(cls, profiles) });
    validators.set(key, validate);
  }
  const errors = validate(event) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '(event)'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
  const cls = OCSF.classes[name]!;
  if (event.class_uid !== cls.uid) errors.push(`class_uid ${String(event.class_uid)} is not ${cls.uid}`);
  if (event.type_uid !== cls.uid * 100 + Number(event.activity_id)) errors.push(`type_uid ${String(event.type_uid)} is not class_uid * 100 + activity_id`);
  return errors;
}
