/**
 * The migrations, listed in code (no folder scan, so a bundled or renamed file cannot be skipped), and
 * the functions the server and `keycard migrate` run them with.
 */

import type { Kysely } from 'kysely'
import { Migrator, type Migration, type MigrationResult } from 'kysely'
import * as m0001 from './0001-init.ts'
import * as m0002 from './0002-identity-keys.ts'
import type { CollisionReport, KeyCollision } from './0002-identity-keys.ts'

export type { KeyCollision } from './0002-identity-keys.ts'
import * as m0003 from './0003-database-identity.ts'
import * as m0004 from './0004-revocation-notify.ts'
import * as m0005 from './0005-keyring.ts'
import * as m0006 from './0006-throttle.ts'
import * as m0007 from './0007-audit.ts'
import * as m0008 from './0008-flask-tokens.ts'

/** Names sort in the order they run. */
export const migrations: Readonly<Record<string, Migration>> = Object.freeze({
  '0001-init': m0001,
  '0002-identity-keys': m0002,
  '0003-database-identity': m0003,
  '0004-revocation-notify': m0004,
  '0005-keyring': m0005,
  '0006-throttle': m0006,
  '0007-audit': m0007,
  '0008-flask-tokens': m0008,
})

/** Without a handler, what a migration reports goes to stderr (the CLI); the server passes its logger. */
const toStderr: CollisionReport = (c) => void process.stderr.write(`keycard: ${c.message}\n`)

/** A Migrator over `migrations`; `report` hears of rows a migration had to treat specially (0002's key collisions). */
export function createMigrator(db: Kysely<any>, report: CollisionReport = toStderr): Migrator {
  const withReport: Record<string, Migration> = {
    ...migrations,
    '0002-identity-keys': { up: (d) => m0002.up(d, report), down: m0002.down },
  }
  // 0006 was added after 0007 had shipped: a database that ran 0007 first gets 0006 next.
  return new Migrator({ db, provider: { getMigrations: async () => withReport }, allowUnorderedMigrations: true })
}

/** Thrown when a migration fails; `results` tells which ran. */
export class MigrationError extends Error {
  readonly results: readonly MigrationResult[]
  constructor(cause: unknown, results: readonly MigrationResult[]) {
    const failed = results.find((r) => r.status === 'Error')
    super(
      `Database migration ${failed ? `"${failed.migrationName}" ` : ''}failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    )
    this.name = 'MigrationError'
    this.results = results
  }
}

/**
 * Runs every pending migration; returns the names applied now (empty when up to date). Throws
 * MigrationError. `report` hears of each row a migration kept but had to set apart (see 0002);
 * by default the message goes to stderr.
 *
 * @example
 * await migrateToLatest(db, (c) => app.log.warn({ userId: c.userId, keptUserId: c.keptUserId }, c.message))
 */
export async function migrateToLatest(db: Kysely<any>, report?: (collision: KeyCollision) => void): Promise<string[]> {
  const { error, results = [] } = await createMigrator(db, report).migrateToLatest()
  if (error) throw new MigrationError(error, results)
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName)
}

/** Every known migration and whether it has run, for `keycard migrate --status`. */
export async function migrationStatus(db: Kysely<any>): Promise<{ name: string; executedAt: Date | undefined }[]> {
  const list = await createMigrator(db).getMigrations()
  return list.map((m) => ({ name: m.name, executedAt: m.executedAt }))
}
