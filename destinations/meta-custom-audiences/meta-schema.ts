import type { IdentifierSpec, JsonValue, Operation } from '../../engine/destination/index.js';

/**
 * Meta's customer-file schema keys, in the order audsync sends them
 * (destinations/meta-custom-audiences/README.md, "Schema keys"). A sync's
 * `fields` are keyed by these names; the request's `schema` lists the mapped
 * ones in this fixed order, whatever the order in the config, so every
 * request of a sync has the same shape.
 */
export const META_SCHEMA_KEYS = [
  'EXTERN_ID',
  'EMAIL',
  'PHONE',
  'GEN',
  'DOBY',
  'DOBM',
  'DOBD',
  'LN',
  'FN',
  'FI',
  'CT',
  'ST',
  'ZIP',
  'MADID',
  'COUNTRY',
  'LOOKALIKE_VALUE',
] as const;

export type MetaSchemaKey = (typeof META_SCHEMA_KEYS)[number];

export function isMetaSchemaKey(s: string): s is MetaSchemaKey {
  return (META_SCHEMA_KEYS as readonly string[]).includes(s);
}

/**
 * How the warehouse prepares each identifier key before it leaves: the
 * normalization Meta documents, then SHA-256, except EXTERN_ID and MADID,
 * which Meta takes as they are. FI (first initial) has no kind of its own:
 * map a column holding the initial and it is trimmed, lower-cased and hashed.
 * LOOKALIKE_VALUE is a customer value, not an identifier: sent as it is.
 */
export const META_IDENTIFIERS: Record<Exclude<MetaSchemaKey, 'LOOKALIKE_VALUE'>, IdentifierSpec> = {
  EXTERN_ID: { kind: 'external_id', hash: false },
  EMAIL: { kind: 'email' },
  PHONE: { kind: 'phone' },
  GEN: { kind: 'gender' },
  DOBY: { kind: 'dob_year' },
  DOBM: { kind: 'dob_month' },
  DOBD: { kind: 'dob_day' },
  LN: { kind: 'last_name' },
  FN: { kind: 'first_name' },
  FI: { kind: 'text' },
  CT: { kind: 'city' },
  ST: { kind: 'state' },
  ZIP: { kind: 'zip' },
  MADID: { kind: 'mobile_ad_id', hash: false },
  COUNTRY: { kind: 'country' },
};

/** One cell of a data row: a hash, a raw id (EXTERN_ID, MADID), a number (LOOKALIKE_VALUE), or "" when unknown. */
export type Cell = string | number;

/** The mapped fields that are schema keys, in the fixed order. */
export function schemaOf(fields: readonly string[]): MetaSchemaKey[] {
  return META_SCHEMA_KEYS.filter((k) => fields.includes(k));
}

/** The data row of one operation, cells in schema order; a NULL field is "" (Meta's "unknown"). */
export function rowOf(op: Operation, schema: readonly MetaSchemaKey[]): Cell[] {
  return cellsOf(op.fields, schema);
}

/**
 * For a member whose identifier cells differ from those last sent (a new email
 * for the same key): the row last sent, in the same schema, to DELETE so the old
 * identifiers leave the audience. Undefined when there is nothing to take out:
 * a remove, a member never sent before (no previousFields), or only
 * LOOKALIKE_VALUE (a customer value, not an identifier) changed. Besides
 * changes, the adds of a --full-refresh carry the fields last sent too (the
 * plan re-sends every known member as an add) and are treated alike. A key the
 * last send did not carry (a field mapped since) is no old identifier: it is
 * not compared, and is "" in the row.
 */
export function replacedRowOf(op: Operation, schema: readonly MetaSchemaKey[]): Cell[] | undefined {
  const previous = op.op === 'remove' ? null : op.previousFields;
  if (previous === null) return undefined;
  const old = cellsOf(previous, schema);
  const now = rowOf(op, schema);
  const identifier = (k: MetaSchemaKey): boolean => k !== 'LOOKALIKE_VALUE';
  const changed = schema.some((k, i) => identifier(k) && k in previous && old[i] !== now[i]);
  const oldHasIdentifier = schema.some((k, i) => identifier(k) && old[i] !== '');
  return changed && oldHasIdentifier ? old : undefined;
}

function cellsOf(fields: Readonly<Record<string, JsonValue>>, schema: readonly MetaSchemaKey[]): Cell[] {
  return schema.map((k) => cellOf(k, fields[k]));
}

function cellOf(key: MetaSchemaKey, v: JsonValue | undefined): Cell {
  if (v === null || v === undefined) return '';
  if (key === 'LOOKALIKE_VALUE') {
    // Big values arrive as strings from the lossless parser; Meta wants a number.
    const n = typeof v === 'number' ? v : Number(v);
    return Number.isFinite(n) ? n : '';
  }
  return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
}
