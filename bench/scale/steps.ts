/** The scale bench's steps on one database, in order, each optional (`--steps`). */

import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startServer, stopServer } from '../run.ts'
import type { ScaleDatabase } from './databases.ts'
import type { ScaleFlags } from './flags.ts'
import { nowSeconds, type Layout } from './layout.ts'
import {
  BARE,
  keycardContender,
  measurePaging,
  measurePurge,
  measureStartup,
  measureThroughput,
  START_TIMEOUT_MS,
  type PagingRow,
  type PurgeResult,
  type Rig,
  type StartupResult,
  type ThroughputRow,
} from './measure.ts'
import { measurePropagation, type PropagationResult } from './propagation.ts'
import type { SeedReport } from './seed-sqlite.ts'
import { bearer, timed, tokensFor } from './tokens.ts'

export interface DatabaseResult {
  kind: ScaleDatabase['kind']
  label: string
  describe: string
  seed: SeedReport
  startup?: { seeded: StartupResult; empty: StartupResult }
  throughput?: ThroughputRow[]
  purge?: PurgeResult & { insertMs: number }
  paging?: PagingRow[]
  propagation?: PropagationResult
  /** Steps that could not run here, and why. */
  notes: string[]
}

export interface StepContext {
  rig: Rig
  flags: ScaleFlags
  layout: Layout
  /** Session numbers whose tokens make the fresh-mode pool. */
  poolSessions: number[]
  /** The bare ceiling's fresh pool. */
  barePool: string
  secret: string
}

function serverEnv(url: string, extra: Record<string, string> = {}): Record<string, string> {
  return { DATABASE_URL: url, JWT_SECRET: 'unused', LOG_LEVEL: 'warn', NODE_ENV: 'production', ...extra }
}

/**
 * Seeds `db`, then runs the selected measurements on it.
 *
 * @example
 * const result = await runOnDatabase(sqliteDatabase(tmp), context)
 */
export async function runOnDatabase(db: ScaleDatabase, ctx: StepContext): Promise<DatabaseResult> {
  const { rig, flags, layout } = ctx
  const env = (url: string, extra?: Record<string, string>) => serverEnv(url, { ...extra, JWT_SECRET: ctx.secret })
  rig.log(`${db.label}: seeding ${layout.users} users, ${layout.sessions} sessions (${layout.revoked} revoked)`)
  const seed = await db.seed(layout, rig.log)
  rig.log(`${db.label}: seeded in ${(seed.totalMs / 1000).toFixed(1)} s`)
  await db.migrateEmpty()
  // A database server shares the Keycard server's CPU, as SQLite (inside the server process) does.
  if (rig.serverCpu !== undefined) db.pinTo?.(rig.serverCpu)
  const result: DatabaseResult = { kind: db.kind, label: db.label, describe: db.describe, seed, notes: [] }

  const seededDbid = await db.databaseId(db.seededUrl)
  const emptyDbid = await db.databaseId(db.emptyUrl)
  const poolFile = (name: string, tokens: string[]) => {
    const file = join(rig.tmp, `${db.kind}-${name}.txt`)
    writeFileSync(file, `${tokens.join('\n')}\n`)
    return file
  }
  rig.log(`${db.label}: minting ${ctx.poolSessions.length} tokens for each server`)
  const seededTokens = await tokensFor(layout, ctx.poolSessions, seededDbid)
  const emptyTokens = await tokensFor(layout, ctx.poolSessions, emptyDbid)
  const [adminToken] = await tokensFor(layout, [1], seededDbid)
  const seeded = keycardContender(`${db.kind}-seeded`, `${db.label}, seeded (${layout.users} users)`, env(db.seededUrl))
  const empty = keycardContender(`${db.kind}-empty`, `${db.label}, empty`, env(db.emptyUrl))

  if (flags.steps.has('startup')) {
    rig.log(`${db.label}: start-up, ${flags.startupRuns} run(s) each`)
    result.startup = {
      seeded: await measureStartup(rig, seeded, flags.startupRuns),
      empty: await measureStartup(rig, empty, flags.startupRuns),
    }
  }

  if (flags.steps.has('throughput')) {
    result.throughput = await measureThroughput(
      rig,
      [
        { contender: BARE, tokenFile: ctx.barePool },
        { contender: empty, token: emptyTokens[0]!, tokenFile: poolFile('empty-pool', emptyTokens) },
        { contender: seeded, token: seededTokens[0]!, tokenFile: poolFile('seeded-pool', seededTokens) },
      ],
      {
        modes: ['repeated', 'fresh'],
        rounds: flags.rounds,
        duration: flags.duration,
        warmup: flags.warmup,
        connections: flags.connections,
      },
    )
  }

  if (flags.steps.has('purge') || flags.steps.has('paging')) {
    await recorded(result, 'purge and paging', async () => {
      const purging = flags.steps.has('purge')
      // The rows expire after the insert and the server's start-up, so its start-up purge leaves them and
      // the timer's purge takes them all. The revocation poll keeps the server's default: a server whose
      // view goes unconfirmed past REVOCATION_MAX_STALENESS answers 503; the idle window shows the poll's cost.
      // Room for the insert and a start-up three times as slow as the measured one (a busy machine).
      const startupS = result.startup ? Math.ceil((3 * result.startup.seeded.wallMs.max) / 1000) : 30
      const expiresAt = nowSeconds() + (flags.small ? 8 : 20) + startupS
      let insertMs = 0
      if (purging) {
        rig.log(`${db.label}: inserting ${flags.expired} sessions that expire in ${expiresAt - nowSeconds()} s`)
        insertMs = await db.insertExpiring(layout, flags.expired, expiresAt)
      }
      const server = await startServer(
        keycardContender(
          `${db.kind}-purge`,
          `${db.label}, purge`,
          env(db.seededUrl, { LOG_LEVEL: 'info', BENCH_PURGE_INTERVAL_MS: '1000' }),
        ),
        rig.serverCpu,
        rig.launch,
        START_TIMEOUT_MS,
      )
      try {
        if (purging) {
          if (nowSeconds() >= expiresAt - 1)
            throw new Error('purge: the rows expired before the server listened (a slow insert or start-up); lower --expired')
          rig.log(`${db.label}: waiting for the purge of ${flags.expired} rows`)
          const purge = await measurePurge(server, {
            rows: flags.expired,
            expiresAt,
            token: seededTokens[0]!,
            deadlineMs: (expiresAt - nowSeconds()) * 1000 + 180_000,
          })
          result.purge = { ...purge, insertMs }
        }
        if (flags.steps.has('paging')) {
          rig.log(`${db.label}: /admin/users paging`)
          const middle = Math.floor(layout.users / 2)
          const deep = Math.max(0, layout.users - 50)
          // Pages by key (`after=<id>`, answered with `next`) where the server has them, else by OFFSET.
          const first = await timed(`${server.url}/admin/users?limit=50`, { headers: bearer(adminToken!) })
          const keyset = first.status === 200 && 'next' in (JSON.parse(first.body) as object)
          const queries = keyset
            ? ['limit=50', `limit=50&after=${middle}`, `limit=50&after=${deep}`]
            : ['limit=50&offset=0', `limit=50&offset=${middle}`, `limit=50&offset=${deep}`]
          result.paging = await measurePaging(server.url, adminToken!, queries, flags.small ? 5 : 20)
        }
      } finally {
        await stopServer(server)
      }
    })
  }

  if (flags.steps.has('propagation')) {
    if (db.kind !== 'postgres')
      result.notes.push(
        'propagation: measured between instances on PostgreSQL only (SQLite instances learn of each other by the server poll)',
      )
    else
      await recorded(result, 'propagation', async () => {
        result.propagation = await measurePropagation(rig, {
          env: env(db.seededUrl),
          layout,
          dbid: seededDbid,
          poolFile: poolFile('propagation-pool', seededTokens),
          revocations: flags.revocations,
          connections: flags.connections,
        })
      })
  }
  return result
}

/** Runs a step; its failure becomes a note of the result (what the other steps measured is kept). */
async function recorded(result: DatabaseResult, step: string, run: () => Promise<void>): Promise<void> {
  try {
    await run()
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    result.notes.push(`${step} failed: ${message.split('\n')[0]}`)
  }
}
