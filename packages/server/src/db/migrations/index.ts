/**
 * The migrations, listed in code (no folder scan, so a bundled or renamed file cannot be skipped), and
 * the functions the server and `keycard migrate` run them with.
 */

import type { Kysely } from 'kysely'
import { Migrator, type Migration, type MigrationResult } from 'kysely'
import * as m0001 from './0001-init.ts'

/** Names sort in the order they run. */
export const migrations: Readonly<Record<string, Migration>> = Object.freeze({
  '0001-init': m0001,
})

export function createMigrator(db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: { getMigrations: async () => ({ ...migrations }) } })
}

/** Thrown when a migration fails; `results` tells which ran. */
export class MigrationError extends Error {
  readonly results: readonly MigrationResult[]
  constructor(cause: unknown, results: readonly MigrationResult[]) {
    const failed = results.find((r) => r.status === 'Error')
    super(`Database migration ${failed ? `"${failed.migrationName}" ` : ''}failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
    this.name = 'MigrationError'
    this.results = results
  }
}

/** Runs every pending migration; returns the names applied now (empty when up to date). Throws MigrationError. */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const { error, results = [] } = await createMigrator(db).migrateToLatest()
  if (error) throw new MigrationError(error, results)
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName)
}

/** Every known migration and whether it has run, for `keycard migrate --status`. */
export async function migrationStatus(db: Kysely<any>): Promise<{ name: string; executedAt: Date | undefined }[]> {
  const list = await createMigrator(db).getMigrations()
  return list.map((m) => ({ name: m.name, executedAt: m.executedAt }))
}
