/**
 * PostgreSQL for the scale bench: a throwaway server from @keycard/test-servers (`startPostgres()`:
 * initdb in a temp dir, a free loopback port, fsync off with synchronous_commit on, so a commit is in
 * the WAL, in the OS page cache, before it is acknowledged: the durability of the server's SQLite
 * setting, WAL with synchronous=NORMAL), two databases on it (seeded, empty), the server's own
 * migrations through its openDatabase, then every row generated inside PostgreSQL by one
 * `INSERT … SELECT … FROM generate_series` per table, in one transaction, and VACUUM ANALYZE (what
 * autovacuum would soon do on its own).
 */

import { spawnSync } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import { startPostgres } from '@keycard/test-servers'
import { sql, type Kysely } from 'kysely'
import { openDatabase } from '../../packages/server/src/db/database.ts'
import { migrateToLatest } from '../../packages/server/src/db/migrations/index.ts'
import type { Database } from '../../packages/server/src/db/schema.ts'
import { readDatabaseId } from '../../packages/server/src/revocations.ts'
import type { ScaleDatabase } from './databases.ts'
import { checkLayout, nowSeconds, type Layout } from './layout.ts'
import { countRows, seedHash, type SeedReport } from './seed-sqlite.ts'

/** Seeding statements run for tens of seconds: far past the server's 5 s statement timeout. */
const SEED_STATEMENT_TIMEOUT_MS = 30 * 60_000

function open(url: string): Kysely<Database> {
  return openDatabase(url, undefined, { statementTimeoutMs: SEED_STATEMENT_TIMEOUT_MS, poolSize: 2 })
}

async function withDb<T>(url: string, fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  const db = open(url)
  try {
    return await fn(db)
  } finally {
    await db.destroy()
  }
}

const big = (v: number) => sql`${v}::bigint`
const uuidOf = (variant: string) => sql.raw(`lpad(to_hex(j), 8, '0') || '-0000-4000-${variant}-' || lpad(to_hex(j), 12, '0')`)

/**
 * Seeds the database at `url` (new, no rows) with `layout`.
 *
 * @example
 * const report = await seedPostgres(url, FULL_LAYOUT, console.error)
 */
export async function seedPostgres(url: string, layout: Layout, log: (msg: string) => void = () => {}): Promise<SeedReport> {
  checkLayout(layout)
  return withDb(url, async (db) => {
    const t0 = performance.now()
    await migrateToLatest(db)
    const existing = await countRows(db)
    if (existing.users > 0 || existing.sessions > 0)
      throw new Error('scale bench: the PostgreSQL database already holds rows; seed a new one')
    const t1 = performance.now()
    const hash = await seedHash()
    const t2 = performance.now()
    const now = nowSeconds()
    const [n, s, r, at] = [big(layout.users), big(layout.sessions), big(layout.revoked), big(now)]
    let t3 = 0
    await db.transaction().execute(async (trx) => {
      await sql`set local synchronous_commit = off`.execute(trx)
      log(`seeding ${layout.users} users`)
      await sql`
        insert into users (username, username_key, email, email_key, password_hash, admin, registered_on)
        select 'user' || lpad(i::text, 7, '0'), 'user' || lpad(i::text, 7, '0'),
               'user' || lpad(i::text, 7, '0') || '@example.test', 'user' || lpad(i::text, 7, '0') || '@example.test',
               ${hash}, case when i = 1 then 1 else 0 end, ${at} - (${n} - i)
        from generate_series(1, ${n}) as i order by i`.execute(trx)
      const { rows } = await sql<{ lo: number; hi: number }>`select min(id) as lo, max(id) as hi from users`.execute(trx)
      if (Number(rows[0]?.lo) !== 1 || Number(rows[0]?.hi) !== layout.users)
        throw new Error(`scale bench: users were numbered ${rows[0]?.lo}..${rows[0]?.hi}, not 1..${layout.users}; seed a new database`)
      t3 = performance.now()
      log(`seeding ${layout.sessions} sessions (${layout.revoked} revoked)`)
      await sql`
        insert into sessions (id, user_id, created_at, last_used_at, expires_at, user_agent, refresh_jti, revoked_at)
        select ${uuidOf('8000')}, ((j - 1) % ${n}) + 1, ${at} - 3600, ${at} - 60, ${at} + 7 * 86400 + (j % 86400),
               'keycard-bench/1.0', ${uuidOf('9000')},
               case when (j * ${r}) / ${s} > ((j - 1) * ${r}) / ${s} then ${at} - 60 else null end
        from generate_series(1, ${s}) as j`.execute(trx)
    })
    const t4 = performance.now()
    log('vacuum analyze')
    await sql`vacuum analyze`.execute(db)
    const t5 = performance.now()
    return {
      migrateMs: t1 - t0,
      hashMs: t2 - t1,
      usersMs: t3 - t2,
      sessionsMs: t4 - t3,
      finishMs: t5 - t4,
      totalMs: t5 - t0,
      counts: await countRows(db, now),
    }
  })
}

/**
 * Adds `count` sessions expiring at `expiresAt` (epoch s), ids apart from the seeded ones. Returns ms.
 *
 * @example
 * await insertExpiringPostgres(url, FULL_LAYOUT, 500_000, nowSeconds() + 30)
 */
export async function insertExpiringPostgres(url: string, layout: Layout, count: number, expiresAt: number): Promise<number> {
  return withDb(url, async (db) => {
    const t0 = performance.now()
    const at = big(nowSeconds())
    await sql`
      insert into sessions (id, user_id, created_at, last_used_at, expires_at, user_agent, refresh_jti, revoked_at)
      select ${uuidOf('a000')}, ((j - 1) % ${big(layout.users)}) + 1, ${at} - 86400, ${at} - 60, ${big(expiresAt)},
             'keycard-bench/1.0', null, null
      from generate_series(1, ${big(count)}) as j`.execute(db)
    return performance.now() - t0
  })
}

/** Pins a running process and every thread of it (PostgreSQL's postmaster; backends forked later inherit it). */
function pin(pid: number, cpu: number): void {
  spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' })
}

/**
 * A PostgreSQL server of its own with a seeded and an empty database; `close()` stops it and removes
 * its data dir.
 *
 * @example
 * const db = await postgresDatabase(console.error)
 */
export async function postgresDatabase(log: (msg: string) => void): Promise<ScaleDatabase> {
  log('starting PostgreSQL (@keycard/test-servers)')
  // Room for a 2-million-row load without a checkpoint storm; the rest are test-servers' settings.
  const server = await startPostgres({
    removeOnExit: true,
    settings: { shared_buffers: '256MB', max_wal_size: '4GB', maintenance_work_mem: '256MB', work_mem: '16MB' },
  })
  try {
    const seededUrl = await server.createDatabase('scale_seeded')
    const emptyUrl = await server.createDatabase('scale_empty')
    return {
      kind: 'postgres',
      label: 'PostgreSQL',
      seededUrl,
      emptyUrl,
      describe: `PostgreSQL ${postgresVersion()} from @keycard/test-servers on 127.0.0.1 (fsync off, synchronous_commit on, shared_buffers 256MB), pinned to the server's CPU during the measurements`,
      seed: (layout, l) => seedPostgres(seededUrl, layout, l),
      migrateEmpty: () => withDb(emptyUrl, async (db) => void (await migrateToLatest(db))),
      databaseId: (url) => withDb(url, (db) => readDatabaseId(db)),
      insertExpiring: (layout, count, expiresAt) => insertExpiringPostgres(seededUrl, layout, count, expiresAt),
      get serverPid() {
        return server.pid
      },
      pinTo: (cpu: number) => {
        if (server.pid !== undefined) pin(server.pid, cpu)
      },
      close: () => server.stop(),
    }
  } catch (err) {
    await server.stop()
    throw err
  }
}

function postgresVersion(): string {
  const out = spawnSync('sh', ['-c', 'ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1'], { encoding: 'utf8' })
  return out.stdout.trim() || '(version unknown)'
}
