/**
 * The revocation table and its queries, in portable SQL through Kysely's builders (SQLite,
 * PostgreSQL, MySQL); dialect-specific only for the auto-increment column, the upsert and NOTIFY.
 *
 *   keycard_revocations(seq <auto-increment> primary key, jti varchar(255) unique not null, expires_at bigint null)
 *
 * `seq` orders the rows for polling; `expires_at` is the token's `exp` (epoch seconds, null for never).
 */

import { type Generated, type Kysely, sql } from 'kysely'
import { KeycardOptionError } from '../errors.ts'
import { notification } from './payload.ts'

/**
 * A row of the revocation table.
 *
 * @example
 * const row: RevocationTable = { seq: 1 as never, jti: 'a-jti', expires_at: 1767225600 }
 */
export interface RevocationTable {
  seq: Generated<number>
  jti: string
  expires_at: number | null
}

/**
 * Any table name maps to the revocation table's shape.
 *
 * @example
 * const db = userDb as unknown as Kysely<RevocationDatabase>
 */
export type RevocationDatabase = Record<string, RevocationTable>

/**
 * The SQL family of a Kysely instance: decides the auto-increment column, the upsert and whether
 * writes NOTIFY. `other` gets portable SQL only (and no NOTIFY).
 *
 * @example
 * const dialect: SqlDialect = detectDialect(db) // 'sqlite'
 */
export type SqlDialect = 'postgres' | 'sqlite' | 'mysql' | 'other'

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

/**
 * Checks a table or channel name (it goes into SQL and LISTEN as an identifier).
 *
 * @example
 * const table = checkIdentifier('table', options.table, 'keycard_revocations')
 */
export function checkIdentifier(option: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || !IDENTIFIER.test(value))
    throw new KeycardOptionError(
      option,
      `expected letters, digits and underscores (not starting with a digit, at most 63), got ${JSON.stringify(value)}.`,
    )
  return value
}

/**
 * Tells the dialect from the SQL Kysely compiles (public API only): `$1` placeholders are
 * PostgreSQL's, backquoted identifiers MySQL's, `?` with double quotes SQLite's.
 *
 * @example
 * detectDialect(new Kysely({ dialect: new PostgresDialect({ pool }) })) // 'postgres'
 */
// biome-ignore lint/suspicious/noExplicitAny: any user database type
export function detectDialect(db: Kysely<any>): SqlDialect {
  const text = (db as Kysely<RevocationDatabase>).selectFrom('t').select('jti').where('jti', '=', 'x').compile().sql
  if (text.includes('$1')) return 'postgres'
  if (text.includes('`')) return 'mysql'
  if (text.endsWith('?')) return 'sqlite'
  return 'other'
}

/**
 * Creates the revocation table unless it exists (idempotent: run it at start-up or from a migration).
 *
 * @example
 * await createRevocationTable(db) // keycard_revocations
 * await createRevocationTable(db, { table: 'revoked_tokens' })
 */
export async function createRevocationTable(
  // biome-ignore lint/suspicious/noExplicitAny: any user database type
  db: Kysely<any>,
  options: { table?: string; dialect?: SqlDialect } = {},
): Promise<void> {
  const table = checkIdentifier('table', options.table, 'keycard_revocations')
  const dialect = options.dialect ?? detectDialect(db)
  let builder = db.schema.createTable(table).ifNotExists()
  if (dialect === 'postgres') builder = builder.addColumn('seq', 'bigserial', (c) => c.primaryKey())
  else if (dialect === 'sqlite') builder = builder.addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
  else if (dialect === 'mysql') builder = builder.addColumn('seq', 'bigint', (c) => c.primaryKey().autoIncrement())
  else builder = builder.addColumn('seq', 'bigint', (c) => c.primaryKey().identity())
  await builder
    .addColumn('jti', 'varchar(255)', (c) => c.notNull().unique())
    .addColumn('expires_at', 'bigint')
    .execute()
}

/**
 * A row as read back (PostgreSQL's driver returns bigint as a string, so the numbers are converted).
 *
 * @example
 * const row: ReadRow = { seq: 7, jti: 'a-jti', expiresAt: null }
 */
export interface ReadRow {
  seq: number
  jti: string
  expiresAt: number | null
}

function toRow(row: { seq: unknown; jti: string; expires_at: unknown }): ReadRow {
  return { seq: Number(row.seq), jti: row.jti, expiresAt: row.expires_at === null ? null : Number(row.expires_at) }
}

/**
 * The queries of one store: a table, a dialect and the NOTIFY channel.
 *
 * @example
 * const queries = new RevocationQueries(db, 'keycard_revocations', 'postgres', 'keycard_revocations')
 * await queries.insert('a-jti', 1767225600)
 */
export class RevocationQueries {
  readonly #db: Kysely<RevocationDatabase>
  readonly #table: string
  readonly #dialect: SqlDialect
  readonly #channel: string

  constructor(db: Kysely<RevocationDatabase>, table: string, dialect: SqlDialect, channel: string) {
    this.#db = db
    this.#table = table
    this.#dialect = dialect
    this.#channel = channel
  }

  /** Records a revocation and, on PostgreSQL, notifies listeners in the same transaction; resolves once committed. */
  async insert(jti: string, expiresAt: number | null): Promise<void> {
    const table = this.#table
    try {
      await this.#db.transaction().execute(async (trx) => {
        const insert = trx.insertInto(table).values({ jti, expires_at: expiresAt })
        if (this.#dialect === 'postgres' || this.#dialect === 'sqlite')
          await insert.onConflict((oc) => oc.column('jti').doNothing()).execute()
        else if (this.#dialect === 'mysql') await insert.ignore().execute()
        else await insert.execute()
        if (this.#dialect === 'postgres') await sql`select pg_notify(${this.#channel}, ${notification(jti, expiresAt)})`.execute(trx)
      })
    } catch (err) {
      // Portable SQL has no upsert: a duplicate is fine if the row is there (revoking twice is a no-op).
      if (this.#dialect === 'other' && (await this.#exists(jti))) return
      throw err
    }
  }

  async #exists(jti: string): Promise<boolean> {
    const row = await this.#db.selectFrom(this.#table).select('jti').where('jti', '=', jti).executeTakeFirst()
    return row !== undefined
  }

  /** Up to `limit` rows after `seq`, in seq order. */
  async after(seq: number, limit: number): Promise<ReadRow[]> {
    const rows = await this.#db
      .selectFrom(this.#table)
      .select(['seq', 'jti', 'expires_at'])
      .where('seq', '>', seq)
      .orderBy('seq')
      .limit(limit)
      .execute()
    return rows.map(toRow)
  }

  /** Deletes up to `batch` rows expired by `cutoff` (epoch seconds); returns how many. */
  async sweep(cutoff: number, batch: number): Promise<number> {
    const expired = await this.#db.selectFrom(this.#table).select('seq').where('expires_at', '<=', cutoff).limit(batch).execute()
    if (expired.length === 0) return 0
    const seqs = expired.map((r) => Number(r.seq))
    await this.#db.deleteFrom(this.#table).where('seq', 'in', seqs).execute()
    return seqs.length
  }
}
