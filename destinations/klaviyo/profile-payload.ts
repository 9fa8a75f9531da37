import type { JsonValue } from '../../engine/destination/index.js';

/** Profile attributes Klaviyo knows by name; every other mapped field becomes a custom property. */
const PROFILE_ATTRIBUTES = new Set(['email', 'phone_number', 'external_id', 'first_name', 'last_name', 'organization', 'locale', 'title', 'image']);
/** Attributes that identify a profile: an import row needs at least one (Klaviyo matches on them). */
export const PROFILE_IDENTIFIERS = ['external_id', 'email', 'phone_number'] as const;
export type ProfileIdentifier = (typeof PROFILE_IDENTIFIERS)[number];
/** Mapped fields named `location.<part>` fill the profile's location object. */
const LOCATION_PREFIX = 'location.';

export type Identifiers = Partial<Record<ProfileIdentifier, string>>;

/**
 * The profile's identifiers as Klaviyo compares them: ids as text, emails in
 * lower case (Klaviyo stores them so), phone numbers as given (E.164).
 */
export function identifiersOf(source: Readonly<Record<string, unknown>>): Identifiers {
  const out: Identifiers = {};
  for (const k of PROFILE_IDENTIFIERS) {
    const v = source[k];
    if (v === null || v === undefined || v === '') continue;
    out[k] = k === 'email' ? String(v).trim().toLowerCase() : String(v).trim();
  }
  return out;
}

/**
 * The JSON:API `profile` resource for one row. Null values are left out: the
 * bulk import cannot clear a field with null (Klaviyo reference, Bulk Import
 * Profiles), and an explicit null could be refused for the whole job.
 */
export function profileResource(fields: Readonly<Record<string, JsonValue>>): { type: 'profile'; attributes: Record<string, JsonValue> } {
  const attributes: Record<string, JsonValue> = {};
  const properties: Record<string, JsonValue> = {};
  const location: Record<string, JsonValue> = {};
  for (const [name, value] of Object.entries(fields)) {
    if (value === null) continue;
    if (PROFILE_ATTRIBUTES.has(name)) {
      // Identifiers are strings in Klaviyo; an integer key column must not arrive as a number.
      attributes[name] = (PROFILE_IDENTIFIERS as readonly string[]).includes(name) ? String(value) : value;
    } else if (name.startsWith(LOCATION_PREFIX) && name.length > LOCATION_PREFIX.length) {
      location[name.slice(LOCATION_PREFIX.length)] = value;
    } else {
      properties[name] = value;
    }
  }
  if (Object.keys(location).length > 0) attributes.location = location;
  if (Object.keys(properties).length > 0) attributes.properties = properties;
  return { type: 'profile', attributes };
}
