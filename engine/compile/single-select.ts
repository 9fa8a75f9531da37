/**
 * A model is one query. The warehouse would run anything else it is handed,
 * even under `plan`: `… ) as x; drop table t; select * from ( …` closes the
 * subquery audsync wraps the model in and stacks a statement after it, and a
 * PostgreSQL data-modifying CTE (`with x as (delete … returning …)`) deletes
 * inside a SELECT. Both are found here on the rendered SQL, before any of it
 * reaches the warehouse.
 */

export interface StatementProblem {
  /** Offset in the SQL of what is refused. */
  readonly offset: number;
  readonly message: string;
}

/**
 * The SQL with the trailing `;` (and whatever comments follow it) cut off, or
 * the first problem; `sql` is '' for a model that holds nothing but comments.
 */
export function checkSingleQuery(sql: string): { sql: string } | StatementProblem {
  let code = maskLiterals(sql);
  const semi = code.indexOf(';');
  if (semi >= 0) {
    if (code.slice(semi + 1).trim() !== '') return { offset: semi, message: 'a model is one query, but a second statement follows this ";"' };
    sql = sql.slice(0, semi);
    code = code.slice(0, semi);
  }
  if (code.trim() === '') return { sql: '' };
  const start = /\S/.exec(code)?.index ?? 0;
  if (!/^\s*(\(|select\b|with\b|values\b|from\b|table\b)/i.test(code)) {
    return { offset: start, message: `a model is one query (SELECT, or WITH ... SELECT), not "${code.slice(start).split(/\s/)[0]}"` };
  }
  const modifying = /\(\s*(insert|update|delete|merge)\b/i.exec(code);
  if (modifying) return { offset: modifying.index, message: `a model only reads: "${modifying[1]!.toUpperCase()}" inside it would change data` };
  return { sql: sql.trimEnd() };
}

/** 1-based line of `offset` in `text`. */
export function lineAt(text: string, offset: number): number {
  return text.slice(0, offset).split('\n').length;
}

/**
 * The SQL with string literals, quoted identifiers and comments blanked (line
 * breaks kept), so what is left is code. Where dialects differ the scan sees
 * less as literal, never more: a block comment ends at its first `*` `/`
 * (PostgreSQL nests them), backslashes escape only in E'...' strings.
 */
export function maskLiterals(sql: string): string {
  const n = sql.length;
  let out = '';
  let i = 0;
  const blank = (from: number, to: number): void => {
    out += sql.slice(from, to).replace(/[^\n]/g, ' ');
    i = to;
  };
  while (i < n) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      blank(i, end < 0 ? n : end);
    } else if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      blank(i, end < 0 ? n : end + 2);
    } else if (c === "'") {
      const escapes = /[eE]/.test(sql[i - 1] ?? '') && !/[A-Za-z0-9_]/.test(sql[i - 2] ?? '');
      blank(i, quotedEnd(sql, i, "'", escapes));
    } else if (c === '"') {
      blank(i, quotedEnd(sql, i, '"', false));
    } else if (c === '$' && !/[A-Za-z0-9_]/.test(sql[i - 1] ?? '')) {
      const tag = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 64))?.[0];
      if (tag) {
        const end = sql.indexOf(tag, i + tag.length);
        blank(i, end < 0 ? n : end + tag.length);
      } else {
        out += c;
        i += 1;
      }
    } else {
      out += c;
      i += 1;
    }
  }
  return out;
}

/** Offset just past the quote closing the one at `start` (a doubled quote is part of the text). */
function quotedEnd(sql: string, start: number, quote: string, backslashEscapes: boolean): number {
  for (let i = start + 1; i < sql.length; i++) {
    const c = sql[i];
    if (backslashEscapes && c === '\\') i += 1;
    else if (c === quote) {
      if (sql[i + 1] === quote) i += 1;
      else return i + 1;
    }
  }
  return sql.length;
}
