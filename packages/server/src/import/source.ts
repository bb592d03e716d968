/**
 * Reads the users of a Flask app's database for `keycard import`: a SQLite file (opened read-only by
 * better-sqlite3, so the Flask app's file is never changed) or a PostgreSQL URL (pg). Only the mapped
 * columns are selected; identifiers are checked, then quoted, so a mapping cannot inject SQL.
 */

import BetterSqlite3 from 'better-sqlite3'
import pg from 'pg'
import { redactUrl } from '../config.ts'

/** Which source column holds each field; `undefined` for a field the source does not have. */
export interface ColumnMapping {
  table: string
  id: string
  username?: string | undefined
  email?: string | undefined
  password: string
  admin?: string | undefined
  registeredOn?: string | undefined
}

/** One source row, by field; values as the driver returns them (strings, numbers, booleans, Dates, null). */
export interface SourceRow {
  id: unknown
  username?: unknown
  email?: unknown
  password: unknown
  admin?: unknown
  registeredOn?: unknown
}

/** The source could not be opened or read; the message names it (URL password redacted) and the cause. */
export class SourceError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SourceError'
  }
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/
const TIMESTAMP_OID = 1114
const FIELDS = ['id', 'username', 'email', 'password', 'admin', 'registeredOn'] as const

/**
 * Why a mapping's table or column name is refused (only plain SQL identifiers are), or null.
 *
 * @example
 * identifierProblem('users; drop table x') // 'must be a plain SQL name (letters, digits, _)…'
 */
export function identifierProblem(name: string): string | null {
  return IDENTIFIER.test(name)
    ? null
    : `must be a plain SQL name (letters, digits and _, not starting with a digit), got ${JSON.stringify(name)}`
}

/** `true` for a PostgreSQL URL, else the value is a SQLite file path. */
export function isPostgresUrl(from: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(from)
}

function selectSql(mapping: ColumnMapping): string {
  const columns = FIELDS.flatMap((field) => (mapping[field] === undefined ? [] : [`"${mapping[field]}" AS "${field}"`]))
  return `SELECT ${columns.join(', ')} FROM "${mapping.table}" ORDER BY "${mapping.id}"`
}

/**
 * Every row of the mapped table, ordered by id.
 *
 * @example
 * const rows = await readSourceUsers('/srv/flask/app.db', { table: 'users', id: 'id', username: 'username', password: 'password' })
 */
export async function readSourceUsers(from: string, mapping: ColumnMapping): Promise<SourceRow[]> {
  const sql = selectSql(mapping)
  const shown = redactUrl(from)
  if (isPostgresUrl(from)) {
    // A naive TIMESTAMP (SQLAlchemy's DateTime) as its text, so plan.ts reads it as UTC, not local time.
    const types = {
      getTypeParser: (oid: number, format?: string) =>
        oid === TIMESTAMP_OID ? (v: string) => v : pg.types.getTypeParser(oid, format as 'text'),
    }
    const client = new pg.Client({ connectionString: from, types })
    try {
      await client.connect()
    } catch (err) {
      throw new SourceError(`cannot connect to the Flask database ${shown}: ${(err as Error).message}`)
    }
    try {
      return (await client.query(sql)).rows as SourceRow[]
    } catch (err) {
      throw new SourceError(`cannot read table "${mapping.table}" of ${shown}: ${(err as Error).message}`)
    } finally {
      await client.end()
    }
  }
  let db: BetterSqlite3.Database
  try {
    db = new BetterSqlite3(from, { readonly: true, fileMustExist: true })
  } catch (err) {
    throw new SourceError(`cannot open the Flask database ${shown}: ${(err as Error).message}`)
  }
  try {
    return db.prepare(sql).all() as SourceRow[]
  } catch (err) {
    // SQLite's hint about string literals does not apply: the names are quoted identifiers.
    const message = (err as Error).message.replace(/ - should this be a string literal in single-quotes\?$/, '')
    throw new SourceError(`cannot read table "${mapping.table}" of ${shown}: ${message}`)
  } finally {
    db.close()
  }
}
