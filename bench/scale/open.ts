/** Opens the databases `--db` asks for; one that cannot be had here is returned as skipped, with the reason. */

import { loadConfig } from '../../packages/server/src/config.ts'
import { sqliteDatabase, type DatabaseKind, type ScaleDatabase } from './databases.ts'

/** Why the server cannot run on PostgreSQL yet, or undefined when its config accepts a postgres:// URL. */
function postgresUnsupported(): string | undefined {
  try {
    loadConfig({ DATABASE_URL: 'postgres://bench@127.0.0.1:1/bench', JWT_SECRET: 'x'.repeat(32) })
    return undefined
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    return /postgres/i.test(message)
      ? `the server refuses DATABASE_URL=postgres://… (${message
          .split('\n')
          .find((l) => /postgres/i.test(l))
          ?.trim()})`
      : undefined
  }
}

/**
 * @example
 * const { databases, skipped } = await openDatabases(['sqlite', 'postgres'], tmp, console.error)
 */
export async function openDatabases(
  kinds: readonly DatabaseKind[],
  tmp: string,
  log: (msg: string) => void,
): Promise<{ databases: ScaleDatabase[]; skipped: { database: DatabaseKind; reason: string }[] }> {
  const databases: ScaleDatabase[] = []
  const skipped: { database: DatabaseKind; reason: string }[] = []
  for (const kind of kinds) {
    if (kind === 'sqlite') databases.push(sqliteDatabase(tmp))
    else {
      const reason = postgresUnsupported()
      if (reason) {
        log(`skipping PostgreSQL: ${reason}`)
        skipped.push({ database: kind, reason })
        continue
      }
      const { postgresDatabase } = await import('./seed-postgres.ts')
      try {
        databases.push(await postgresDatabase(log))
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err)
        log(`skipping PostgreSQL: ${message}`)
        skipped.push({ database: kind, reason: message.split('\n')[0]! })
      }
    }
  }
  return { databases, skipped }
}
