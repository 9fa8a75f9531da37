import { DestinationError } from '../../engine/destination/index.js';

/**
 * What a PostgreSQL error means for a batch:
 * - `row`: this data broke a rule of the table (constraint, bad value, a trigger
 *   that raised): the offending row is rejected, the others go through;
 * - `transient`: the server or the network had trouble (connection lost, lock or
 *   statement timeout, serialization failure, too many connections): retry the batch;
 * - `access`: credentials or privileges are wrong: the sync cannot go on;
 * - `schema`: anything else, e.g. a missing column: the sync cannot go on.
 */
export type PgErrorKind = 'row' | 'transient' | 'access' | 'schema';

/** SQLSTATE classes and codes (PostgreSQL manual, Appendix A "PostgreSQL Error Codes"). */
const ROW_CLASSES = ['22', '23', '44']; // data exception, integrity constraint violation, WITH CHECK OPTION violation
const ROW_CODES = ['P0001']; // raise_exception: a trigger that refuses the row
const TRANSIENT_CLASSES = ['08', '40', '53', '57', '58']; // connection, transaction rollback, resources, operator intervention, system I/O
const TRANSIENT_CODES = ['55P03', '55006', '25P03']; // lock_not_available, object_in_use, idle_in_transaction_session_timeout
const ACCESS_CLASSES = ['28']; // invalid authorization specification
const ACCESS_CODES = ['42501', '3D000']; // insufficient_privilege, invalid_catalog_name (no such database)

export interface PgErrorLike {
  code?: string;
  message?: string;
  constraint?: string;
  column?: string;
  table?: string;
}

export function classifyPgError(e: unknown): PgErrorKind {
  const code = sqlState(e);
  // No SQLSTATE: the driver itself failed (refused, reset, timed out, connection ended).
  if (code === undefined) return 'transient';
  const cls = code.slice(0, 2);
  if (ROW_CLASSES.includes(cls) || ROW_CODES.includes(code)) return 'row';
  if (TRANSIENT_CLASSES.includes(cls) || TRANSIENT_CODES.includes(code)) return 'transient';
  if (ACCESS_CLASSES.includes(cls) || ACCESS_CODES.includes(code)) return 'access';
  return 'schema';
}

/** The five-character SQLSTATE of a server error, undefined for driver and network errors. */
export function sqlState(e: unknown): string | undefined {
  const code = (e as PgErrorLike | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * The server's message, plus the constraint or column it names. PostgreSQL's
 * DETAIL ("Failing row contains (...)") is left out: it repeats the row's values.
 */
export function pgReason(e: unknown): string {
  const err = e as PgErrorLike;
  const extra = err.constraint ? ` (constraint ${err.constraint})` : err.column ? ` (column ${err.column})` : '';
  return `${err.message ?? String(e)}${extra}`;
}

/** A DestinationError for an error that is not about one row. */
export function toDestinationError(e: unknown, who: string, table: string): DestinationError {
  if (e instanceof DestinationError) return e;
  const kind = classifyPgError(e);
  const code = sqlState(e) ?? ((e as { code?: unknown }).code === undefined ? 'connection' : String((e as { code?: unknown }).code));
  const reason = pgReason(e);
  if (kind === 'transient' || kind === 'row') {
    return new DestinationError(`${who}: PostgreSQL: ${reason}`, { retryable: true, code, cause: e });
  }
  if (kind === 'access') {
    return new DestinationError(`${who}: PostgreSQL refused access: ${reason}`, {
      retryable: false,
      code,
      cause: e,
      hint: `Check the connectionString of ${who}: its user needs CONNECT on the database and SELECT, INSERT, UPDATE, DELETE on ${table}.`,
    });
  }
  return new DestinationError(`${who}: PostgreSQL: ${reason}`, {
    retryable: false,
    code,
    cause: e,
    hint: `The statement audsync wrote for ${table} was refused; check the table's definition against the sync's target and fields.`,
  });
}
