/**
 * The fake Snowflake runs statements on DuckDB. This is the whole translation:
 * the handful of Snowflake-only constructs audsync's SnowflakeDialect emits,
 * each rewritten to its DuckDB equivalent. Nothing here is product code: if a
 * statement needs a construct missing from this table, the fake fails loudly
 * (DuckDB rejects it) rather than guessing.
 */

/** Snowflake types -> DuckDB types (whole words, outside literals). */
const TYPE_REWRITES: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bTIMESTAMP_TZ\b/gi, 'TIMESTAMPTZ'],
  [/\bTIMESTAMP_LTZ\b/gi, 'TIMESTAMPTZ'],
  [/\bTIMESTAMP_NTZ\b/gi, 'TIMESTAMP'],
  [/\bNUMBER\s*\(\s*38\s*,\s*0\s*\)/gi, 'BIGINT'],
  [/\bNUMBER\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)/gi, 'DECIMAL($1,$2)'],
];

/** Statement shapes and zero-argument forms. */
const KEYWORD_REWRITES: ReadonlyArray<readonly [RegExp, string]> = [
  // DuckDB has no fail-safe storage to opt out of.
  [/\bCREATE\s+(OR\s+REPLACE\s+)?TRANSIENT\s+TABLE\b/gi, 'CREATE $1TABLE'],
  [/\bCURRENT_TIMESTAMP\s*\(\s*\)/gi, 'CURRENT_TIMESTAMP'],
];

type CallRewrite = (args: string[]) => string | null;

/** Function calls: Snowflake name -> DuckDB expression, or null to leave a call alone. */
const CALL_REWRITES: Readonly<Record<string, CallRewrite>> = {
  SHA2: (a) => (a.length === 2 && a[1]!.trim() === '256' ? `sha256(${a[0]})` : null),
  OBJECT_CONSTRUCT_KEEP_NULL: (a) => `json_object(${a.join(',')})`,
  TO_JSON: (a) => (a.length === 1 ? `CAST(${a[0]} AS VARCHAR)` : null),
  // Snowflake replaces every occurrence by default; DuckDB needs the 'g' flag. The 4-argument form is ours already.
  REGEXP_REPLACE: (a) => (a.length === 3 ? `regexp_replace(${a[0]},${a[1]},${a[2]}, 'g')` : null),
  // REGEXP_LIKE matches the whole string.
  REGEXP_LIKE: (a) => (a.length === 2 ? `regexp_full_match(${a[0]},${a[1]})` : null),
  DATEADD: (a) => (a.length === 3 ? `(${a[2]!.trim()} + INTERVAL (${a[1]!.trim()}) ${unit(a[0]!)})` : null),
  DATE_PART: (a) => (a.length === 2 && a[0]!.trim().toLowerCase() === 'epoch_second' ? `CAST(floor(epoch(${a[1]!.trim()})) AS BIGINT)` : null),
};

const DATEADD_UNITS: Readonly<Record<string, string>> = { second: 'SECOND', seconds: 'SECOND', minute: 'MINUTE', hour: 'HOUR', day: 'DAY', days: 'DAY' };

function unit(u: string): string {
  const du = DATEADD_UNITS[u.trim().toLowerCase()];
  if (!du) throw new Error(`fake Snowflake: DATEADD unit "${u.trim()}" is not in the rewrite table`);
  return du;
}

/** Snowflake SQL as audsync sends it -> SQL DuckDB runs with the same meaning. */
export function snowflakeToDuckDb(sql: string): string {
  let out = rewriteStringLiterals(sql);
  out = rewriteCode(out, [...KEYWORD_REWRITES, ...TYPE_REWRITES]);
  return rewriteCalls(out);
}

/**
 * Snowflake '...' literals treat backslash as an escape (\\ \' \n \t \0 ...);
 * DuckDB's are standard SQL. Each literal is decoded, then written the DuckDB way
 * (E'...' is not needed: control characters are kept as they are).
 */
export function rewriteStringLiterals(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const span = nextSpan(sql, i);
    if (span.kind === 'string') out += `'${decodeSnowflakeString(sql.slice(span.start + 1, span.end - 1)).replace(/'/g, "''")}'`;
    else out += sql.slice(span.start, span.end);
    i = span.end;
  }
  return out;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', '0': '\0' };

function decodeSnowflakeString(body: string): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === "'" && body[i + 1] === "'") {
      out += "'";
      i++;
    } else if (c === '\\' && i + 1 < body.length) {
      const n = body[++i]!;
      out += SIMPLE_ESCAPES[n] ?? n;
    } else {
      out += c;
    }
  }
  return out;
}

interface Span {
  kind: 'code' | 'string' | 'ident' | 'comment';
  start: number;
  end: number;
}

/** The next lexical span from i: a '...' literal (Snowflake escapes), a "..." identifier, a comment, or code up to the next of those. */
function nextSpan(sql: string, i: number): Span {
  const c = sql[i];
  if (c === "'") {
    let j = i + 1;
    while (j < sql.length) {
      if (sql[j] === '\\') j += 2;
      else if (sql[j] === "'" && sql[j + 1] === "'") j += 2;
      else if (sql[j] === "'") break;
      else j++;
    }
    return { kind: 'string', start: i, end: Math.min(j + 1, sql.length) };
  }
  if (c === '"') {
    let j = i + 1;
    while (j < sql.length && !(sql[j] === '"' && sql[j + 1] !== '"')) j += sql[j] === '"' ? 2 : 1;
    return { kind: 'ident', start: i, end: Math.min(j + 1, sql.length) };
  }
  if (c === '-' && sql[i + 1] === '-') {
    const nl = sql.indexOf('\n', i);
    return { kind: 'comment', start: i, end: nl === -1 ? sql.length : nl };
  }
  if (c === '/' && sql[i + 1] === '*') {
    const close = sql.indexOf('*/', i + 2);
    return { kind: 'comment', start: i, end: close === -1 ? sql.length : close + 2 };
  }
  let j = i;
  while (j < sql.length && !isSpanStart(sql, j)) j++;
  return { kind: 'code', start: i, end: Math.max(j, i + 1) };
}

function isSpanStart(sql: string, j: number): boolean {
  const c = sql[j];
  return c === "'" || c === '"' || (c === '-' && sql[j + 1] === '-') || (c === '/' && sql[j + 1] === '*');
}

/** Applies regex rewrites to code only, never inside literals, identifiers or comments. */
function rewriteCode(sql: string, rules: ReadonlyArray<readonly [RegExp, string]>): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const span = nextSpan(sql, i);
    let text = sql.slice(span.start, span.end);
    if (span.kind === 'code') for (const [re, to] of rules) text = text.replace(re, to);
    out += text;
    i = span.end;
  }
  return out;
}

/** The SQL with literal, identifier and comment contents blanked, so positions line up but only code is visible. */
function mask(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const span = nextSpan(sql, i);
    const text = sql.slice(span.start, span.end);
    out += span.kind === 'code' ? text : text[0] + ' '.repeat(Math.max(0, text.length - 2)) + (text.length > 1 ? text[text.length - 1] : '');
    i = span.end;
  }
  return out;
}

const CALL_NAMES = new RegExp(`\\b(${Object.keys(CALL_REWRITES).join('|')})\\s*\\(`, 'gi');

/**
 * Rewrites calls innermost first: the last call in the text is never an outer
 * call of an earlier one, so taking matches from the end rewrites arguments
 * before the calls that contain them.
 */
function rewriteCalls(sql: string): string {
  let out = sql;
  for (let guard = 0; guard < 10_000; guard++) {
    const m = mask(out);
    const matches = [...m.matchAll(CALL_NAMES)].reverse();
    let changed = false;
    for (const match of matches) {
      const open = match.index! + match[0].length - 1;
      const parsed = splitArgs(out, m, open);
      if (!parsed) continue;
      const replacement = CALL_REWRITES[match[1]!.toUpperCase()]!(parsed.args);
      if (replacement === null) continue;
      out = out.slice(0, match.index!) + replacement + out.slice(parsed.end);
      changed = true;
      break;
    }
    if (!changed) return out;
  }
  throw new Error('fake Snowflake: call rewriting did not settle');
}

/** Arguments of the call whose '(' is at `open`, split on top-level commas; `end` is just past ')'. */
function splitArgs(sql: string, masked: string, open: number): { args: string[]; end: number } | null {
  let depth = 0;
  let from = open + 1;
  const args: string[] = [];
  for (let i = open; i < masked.length; i++) {
    const c = masked[i];
    if (c === '(') depth++;
    else if (c === ')') {
      depth--;
      if (depth === 0) {
        const last = sql.slice(from, i);
        if (args.length > 0 || last.trim() !== '') args.push(last);
        return { args, end: i + 1 };
      }
    } else if (c === ',' && depth === 1) {
      args.push(sql.slice(from, i));
      from = i + 1;
    }
  }
  return null;
}
