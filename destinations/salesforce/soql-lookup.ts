import { DestinationError } from '../../engine/destination/index.js';
import type { SalesforceApi } from './salesforce-api.js';

/**
 * Values per `IN (...)` clause. The query travels in the URL, so it is kept
 * far below URL length limits (SOQL itself allows 100,000 characters).
 */
export const SOQL_IN_VALUES = 200;

/** A SOQL string literal: backslash and single quote escaped. */
export function soqlString(v: string): string {
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * `SELECT Id, <field> FROM <object> WHERE <where> AND <field> IN (...)` over
 * `values`, in chunks, following nextRecordsUrl. Returns field value -> Id.
 */
export async function idsByField(api: SalesforceApi, object: string, field: string, values: readonly string[], where?: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < values.length; i += SOQL_IN_VALUES) {
    const chunk = values.slice(i, i + SOQL_IN_VALUES);
    const soql = `SELECT Id, ${field} FROM ${object} WHERE ${where ? `${where} AND ` : ''}${field} IN (${chunk.map(soqlString).join(', ')})`;
    let path: string | undefined = api.dataPath(`query?q=${encodeURIComponent(soql)}`);
    while (path) {
      const res = await api.expect({ method: 'GET', path, step: `look up ${object} by ${field}` }, [200]);
      let page: { records?: unknown; nextRecordsUrl?: unknown; done?: unknown };
      try {
        page = JSON.parse(res.text) as typeof page;
      } catch {
        throw new DestinationError(`${api.who}: look up ${object} by ${field}: the answer is not JSON`, { retryable: true, code: 'query' });
      }
      for (const r of Array.isArray(page.records) ? page.records : []) {
        const rec = r as Record<string, unknown>;
        if (typeof rec.Id === 'string' && rec[field] !== undefined && rec[field] !== null) out.set(String(rec[field]), rec.Id);
      }
      path = page.done === false && typeof page.nextRecordsUrl === 'string' ? page.nextRecordsUrl : undefined;
    }
  }
  return out;
}
