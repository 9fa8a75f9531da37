import type { JsonValue } from '../../engine/destination/index.js';

/**
 * HubSpot property values travel as strings (the CRM v3 `properties` map is
 * string -> string). An empty string clears a property, which is what a NULL
 * in the warehouse means for a mirrored field. Multi-value properties
 * (multiple checkboxes) take values separated by ";", so arrays are joined.
 */
export function propertyValue(v: JsonValue): string {
  if (v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map((x) => (x === null ? '' : typeof x === 'object' ? JSON.stringify(x) : String(x))).join(';');
  return JSON.stringify(v);
}

export function propertiesOf(fields: Readonly<Record<string, JsonValue>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = propertyValue(v);
  return out;
}

/**
 * The form HubSpot compares unique values in. Emails are case-insensitive there
 * (HubSpot stores them lower-cased), so two rows differing only by case are
 * one contact.
 */
export function comparableId(idProperty: string, value: string): string {
  return idProperty === 'email' ? value.trim().toLowerCase() : value;
}
