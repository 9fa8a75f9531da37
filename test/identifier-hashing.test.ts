import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { IdentifierKind } from '../engine/vocabulary/identifier-kinds.js';
import { availableConnections } from './support/warehouse-connections.js';

/**
 * Reference rules, written independently of the SQL, from the vendors' docs
 * (destinations/meta-custom-audiences/README.md, google-customer-match.md).
 */
const PUNCT = /[!-/:-@[-`{-~]/g;
const digitsNoZeros = (v: string) => v.replace(/[^0-9]/g, '').replace(/^0+/, '');
const REFERENCE: Record<IdentifierKind, (v: string) => string> = {
  email: (v) => v.trim().toLowerCase(),
  email_google: (v) => {
    const e = v.trim().toLowerCase();
    const [local = '', domain = ''] = e.split('@');
    return ['gmail.com', 'googlemail.com'].includes(domain) ? `${local.split('+')[0]!.replace(/\./g, '')}@${domain}` : e;
  },
  phone: digitsNoZeros,
  phone_e164: (v) => (digitsNoZeros(v) === '' ? '' : `+${digitsNoZeros(v)}`),
  first_name: (v) => v.trim().toLowerCase().replace(PUNCT, ''),
  last_name: (v) => v.trim().toLowerCase().replace(PUNCT, ''),
  name: (v) => v.trim().toLowerCase(),
  city: (v) => v.toLowerCase().replace(PUNCT, '').replace(/[0-9]/g, '').replace(/[ \t\n\r\f\v]/g, ''),
  state: (v) => v.toLowerCase().replace(PUNCT, '').replace(/[0-9]/g, '').replace(/[ \t\n\r\f\v]/g, ''),
  zip: (v) => v.trim().toLowerCase().replace(/[ -]/g, ''),
  country: (v) => v.trim().toLowerCase(),
  gender: (v) => (['f', 'm'].includes(v.trim().toLowerCase()[0] ?? '') ? v.trim().toLowerCase()[0]! : ''),
  dob_year: (v) => v.slice(0, 4),
  dob_month: (v) => v.slice(5, 7),
  dob_day: (v) => v.slice(8, 10),
  external_id: (v) => v.trim(),
  mobile_ad_id: (v) => v.trim().toLowerCase(),
  text: (v) => v.trim().toLowerCase(),
};

const CORPUS: Partial<Record<IdentifierKind, string[]>> = {
  email: ['  Foo.Bar+Tag@Example.COM ', 'ÉLODIE@Exemple.fr', 'plain@x.io', '   ', ''],
  email_google: ['John.Smith+promo@Gmail.com', 'j.o.h.n@googlemail.com', 'John.Smith+promo@example.com', ' x.y@GMAIL.COM '],
  phone: ['+1 (555) 010-0200', '0044 20 7946 0018', '555.010.0200 ', 'n/a', '000'],
  phone_e164: ['+1 (555) 010-0200', '0044 20 7946 0018', 'none'],
  first_name: [' Mary-Jane ', "O'Brien", 'Zoë', 'José María', '...'],
  last_name: ['Smith-Jones', 'Müller!', '  '],
  name: [' Mary-Jane ', 'ZOË'],
  city: ['New York', 'Saint-Étienne', 'Paris 15'],
  state: ['  CA ', 'New South Wales'],
  zip: [' 94103-1234 ', 'SW1A 1AA'],
  country: [' US ', 'de'],
  gender: ['Female', ' m', 'x', ''],
  dob_year: ['1985-07-04'],
  dob_month: ['1985-07-04'],
  dob_day: ['1985-07-04'],
  external_id: ['  crm-42 ', 'ABC'],
  mobile_ad_id: [' 6D92078A-8246-4BA4-AE5B-76104861E7DC '],
};

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const expectedHash = (kind: IdentifierKind, v: string | null) => {
  if (v === null) return null;
  const n = REFERENCE[kind](v);
  return n === '' ? null : sha(n);
};

const connections = await availableConnections();

describe.each(connections)('identifier normalization and hashing on $name', (factory) => {
  it('gives the reference hash for every kind over a corpus of tricky values', async () => {
    const conn = await factory.open();
    try {
      const d = conn.dialect;
      for (const [kind, values] of Object.entries(CORPUS) as Array<[IdentifierKind, string[]]>) {
        for (const v of [...values, null]) {
          const isDate = kind.startsWith('dob_');
          const lit = v === null ? 'NULL' : isDate ? `CAST(${d.quoteLiteral(v)} AS DATE)` : d.quoteLiteral(v);
          const [row] = await conn.query(`SELECT ${d.hashIdentifier(kind, lit)} AS h, ${d.normalizeIdentifier(kind, lit)} AS n`);
          const want = expectedHash(kind, v);
          expect(row?.h ?? null, `${kind} ${JSON.stringify(v)} normalized by the warehouse to ${JSON.stringify(row?.n)}`).toBe(want);
        }
      }
    } finally {
      await conn.close();
    }
  });

  it('passes 64-hex values through once (never hashed twice), or drops them with the reject rule', async () => {
    const conn = await factory.open();
    try {
      const d = conn.dialect;
      const h = sha('a@b.c').toUpperCase();
      const [row] = await conn.query(
        `SELECT ${d.hashIdentifier('email', d.quoteLiteral(` ${h} `))} AS pass, ${d.hashIdentifier('email', d.quoteLiteral(h), 'reject')} AS rej, ${d.hashIdentifier('email', d.quoteLiteral('a@b.c'), 'reject')} AS plain`,
      );
      expect(row).toEqual({ pass: sha('a@b.c'), rej: null, plain: sha('a@b.c') });
    } finally {
      await conn.close();
    }
  });
});
