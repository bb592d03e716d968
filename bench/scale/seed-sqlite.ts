/**
 * Seeds a SQLite database for the scale bench: the server's own migrations (packages/server
 * migrateToLatest on the server's openDatabase), then every row generated inside SQLite by one
 * `INSERT … SELECT` over a recursive counter per table, in one transaction: no row crosses from
 * JavaScript, and the keys arrive in index order. One argon2id hash (the server's default settings) is
 * computed once and stored for every user.
 */

import { performance } from 'node:perf_hooks'
import { sql, type Kysely } from 'kysely'
import { loadConfig } from '../../packages/server/src/config.ts'
import { openDatabase } from '../../packages/server/src/db/database.ts'
import { migrateToLatest } from '../../packages/server/src/db/migrations/index.ts'
import type { Database } from '../../packages/server/src/db/schema.ts'
import { createPasswordHasher } from '../../packages/server/src/passwords.ts'
import { readDatabaseId } from '../../packages/server/src/revocations.ts'
import { checkLayout, nowSeconds, SEED_PASSWORD, type Layout } from './layout.ts'

/** What a seeder reports: how long each step took (ms) and the row counts read back. */
export interface SeedReport {
  migrateMs: number
  hashMs: number
  usersMs: number
  sessionsMs: number
  /** Checkpoint (SQLite) or VACUUM ANALYZE (PostgreSQL). */
  finishMs: number
  totalMs: number
  counts: { users: number; sessions: number; revokedLive: number }
}

/**
 * The argon2id hash of {@link SEED_PASSWORD} at the server's default settings (what `keycard serve`
 * would store).
 *
 * @example
 * const hash = await seedHash() // '$argon2id$v=19$m=7168,t=5,p=1$…'
 */
export async function seedHash(): Promise<string> {
  const { argon2 } = loadConfig({ JWT_SECRET: 'x'.repeat(32), DATABASE_URL: ':memory:' })
  return createPasswordHasher(argon2).hash(SEED_PASSWORD)
}

/** Counts read back after seeding: what the server will load. */
export async function countRows(db: Kysely<Database>, now = nowSeconds()): Promise<SeedReport['counts']> {
  const one = async (query: ReturnType<typeof sql<{ n: number | string }>>) => Number((await query.execute(db)).rows[0]!.n)
  return {
    users: await one(sql`select count(*) as n from users`),
    sessions: await one(sql`select count(*) as n from sessions`),
    revokedLive: await one(sql`select count(*) as n from sessions where revoked_at is not null and expires_at > ${now}`),
  }
}

/**
 * Runs the server's migrations on a new, empty database (the baseline the seeded one is compared with).
 *
 * @example
 * await migrateSqlite('/tmp/empty.db')
 */
export async function migrateSqlite(path: string): Promise<void> {
  const db = openDatabase(path)
  try {
    await migrateToLatest(db)
  } finally {
    await db.destroy()
  }
}

/**
 * The database's identity (the `dbid` claim its server requires).
 *
 * @example
 * const dbid = await sqliteDatabaseId('/tmp/scale.db')
 */
export async function sqliteDatabaseId(path: string): Promise<string> {
  const db = openDatabase(path)
  try {
    return await readDatabaseId(db)
  } finally {
    await db.destroy()
  }
}

/**
 * Creates (or completes) the database at `path` and fills it with `layout`. The file must be new or
 * freshly migrated: users are numbered from 1.
 *
 * @example
 * const report = await seedSqlite('/tmp/scale.db', FULL_LAYOUT)
 */
export async function seedSqlite(path: string, layout: Layout, log: (msg: string) => void = () => {}): Promise<SeedReport> {
  checkLayout(layout)
  const t0 = performance.now()
  const db = openDatabase(path)
  try {
    await migrateToLatest(db)
    const existing = await countRows(db)
    if (existing.users > 0 || existing.sessions > 0) throw new Error(`scale bench: ${path} already holds rows; seed a new file`)
    const t1 = performance.now()
    const hash = await seedHash()
    const t2 = performance.now()
    const now = nowSeconds()
    // A seed that fails is thrown away, so durability buys nothing here; the server reopens with its own pragmas.
    await sql`pragma synchronous = off`.execute(db)
    await sql`pragma cache_size = -262144`.execute(db)
    // better-sqlite3 binds JS numbers as REAL: cast them, or `(j * r) / s` is not an integer division.
    const int = (v: number) => sql`cast(${v} as integer)`
    const [n, s, r, at] = [int(layout.users), int(layout.sessions), int(layout.revoked), int(now)]
    let t3 = 0
    await db.transaction().execute(async (trx) => {
      log(`seeding ${layout.users} users`)
      await sql`
        with recursive seq(i) as (select 1 union all select i + 1 from seq where i < ${n})
        insert into users (username, username_key, email, email_key, password_hash, admin, registered_on)
        select printf('user%07d', i), printf('user%07d', i), printf('user%07d@example.test', i), printf('user%07d@example.test', i),
               ${hash}, case when i = 1 then 1 else 0 end, ${at} - (${n} - i)
        from seq`.execute(trx)
      t3 = performance.now()
      log(`seeding ${layout.sessions} sessions (${layout.revoked} revoked)`)
      await sql`
        with recursive seq(j) as (select 1 union all select j + 1 from seq where j < ${s})
        insert into sessions (id, user_id, created_at, last_used_at, expires_at, user_agent, refresh_jti, revoked_at)
        select printf('%08x-0000-4000-8000-%012x', j, j), ((j - 1) % ${n}) + 1, ${at} - 3600, ${at} - 60,
               ${at} + 7 * 86400 + (j % 86400), 'keycard-bench/1.0', printf('%08x-0000-4000-9000-%012x', j, j),
               case when (j * ${r}) / ${s} > ((j - 1) * ${r}) / ${s} then ${at} - 60 else null end
        from seq`.execute(trx)
    })
    const t4 = performance.now()
    // Leave a checkpointed file: the server's start-up must not pay for the seeder's WAL.
    await sql`pragma wal_checkpoint(truncate)`.execute(db)
    const t5 = performance.now()
    const counts = await countRows(db, now)
    return {
      migrateMs: t1 - t0,
      hashMs: t2 - t1,
      usersMs: t3 - t2,
      sessionsMs: t4 - t3,
      finishMs: t5 - t4,
      totalMs: t5 - t0,
      counts,
    }
  } finally {
    await db.destroy()
  }
}

/**
 * Adds `count` sessions that all expire at `expiresAt` (epoch s; ids that never collide with the
 * seeded ones), for the purge measurement; one transaction. Returns how long it took (ms).
 *
 * @example
 * await insertExpiringSqlite('/tmp/scale.db', FULL_LAYOUT, 500_000, nowSeconds() + 20)
 */
export async function insertExpiringSqlite(path: string, layout: Layout, count: number, expiresAt: number): Promise<number> {
  const t0 = performance.now()
  const db = openDatabase(path)
  try {
    const int = (v: number) => sql`cast(${v} as integer)`
    const at = int(nowSeconds())
    await db.transaction().execute(async (trx) => {
      await sql`
        with recursive seq(j) as (select 1 union all select j + 1 from seq where j < ${int(count)})
        insert into sessions (id, user_id, created_at, last_used_at, expires_at, user_agent, refresh_jti, revoked_at)
        select printf('%08x-0000-4000-a000-%012x', j, j), ((j - 1) % ${int(layout.users)}) + 1, ${at} - 86400, ${at} - 60,
               ${int(expiresAt)}, 'keycard-bench/1.0', null, null
        from seq`.execute(trx)
    })
    return performance.now() - t0
  } finally {
    await db.destroy()
  }
}
