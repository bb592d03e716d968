/**
 * The databases the scale bench runs on, behind one shape: where the seeded and the empty database
 * live (their DATABASE_URL), how to seed, migrate and read their identity, and how to add the rows a
 * purge will delete. SQLite files sit in the run's temp dir.
 */

import { join } from 'node:path'
import type { Layout } from './layout.ts'
import { insertExpiringSqlite, migrateSqlite, seedSqlite, sqliteDatabaseId, type SeedReport } from './seed-sqlite.ts'

export type DatabaseKind = 'sqlite' | 'postgres'

export interface ScaleDatabase {
  kind: DatabaseKind
  label: string
  /** DATABASE_URL of the seeded database. */
  seededUrl: string
  /** DATABASE_URL of a database with the migrations only. */
  emptyUrl: string
  /** What to tell about the URLs in the report (never a password). */
  describe: string
  seed(layout: Layout, log: (msg: string) => void): Promise<SeedReport>
  migrateEmpty(): Promise<void>
  databaseId(url: string): Promise<string>
  /** Adds `count` sessions expiring at `expiresAt` to the seeded database; returns ms. */
  insertExpiring(layout: Layout, count: number, expiresAt: number): Promise<number>
  /** The database server's pid, to pin it beside the server (PostgreSQL), or undefined (in-process SQLite). */
  serverPid?: number | undefined
  /** Pins the database server's processes to `cpu` (PostgreSQL; SQLite runs inside the Keycard server). */
  pinTo?(cpu: number): void
  close(): Promise<void>
}

/**
 * Two SQLite files in `dir`.
 *
 * @example
 * const db = sqliteDatabase(tmp)
 * await db.seed(FULL_LAYOUT, console.log)
 */
export function sqliteDatabase(dir: string): ScaleDatabase {
  const seeded = join(dir, 'scale-seeded.db')
  const empty = join(dir, 'scale-empty.db')
  return {
    kind: 'sqlite',
    label: 'SQLite',
    seededUrl: seeded,
    emptyUrl: empty,
    describe: 'SQLite files (WAL) in a temp dir',
    seed: (layout, log) => seedSqlite(seeded, layout, log),
    migrateEmpty: () => migrateSqlite(empty),
    databaseId: (url) => sqliteDatabaseId(url),
    insertExpiring: (layout, count, expiresAt) => insertExpiringSqlite(seeded, layout, count, expiresAt),
    close: async () => {},
  }
}
