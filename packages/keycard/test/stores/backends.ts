/**
 * The backends the store contract suite runs every case on (`STORES`): memory, Kysely + SQLite (a real
 * file), Kysely + PostgreSQL (LISTEN/NOTIFY) and Redis, the servers started by @keycard/test-servers.
 * `openStore` is shared with the child process (child.ts), which opens the same backend from a config.
 *
 * An outage takes the backend away from the stores opened `cuttable` while revocations go on being
 * made: PostgreSQL and Redis sit behind a TCP proxy that is cut, and the server is also killed and
 * restarted; SQLite's table is renamed away, and the revocation written into it meanwhile.
 */

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type PostgresServer, type RedisServer, startPostgres, startRedis } from '@keycard/test-servers'
import Database from 'better-sqlite3'
import { Redis } from 'ioredis'
import { MemoryRevocationStore } from 'keycard'
import { createRevocationTable, KyselyRevocationStore } from 'keycard/stores/kysely'
import { RedisRevocationStore } from 'keycard/stores/redis'
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely'
import pg from 'pg'
import { type TcpProxy, tcpProxy } from './proxy.ts'

export type StoreConfig = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string } | { kind: 'redis'; url: string }
export type SharedStore = KyselyRevocationStore | RedisRevocationStore
export type AnyStore = MemoryRevocationStore | SharedStore

export interface OpenOptions {
  now?: () => number
  maxStaleness?: number
  /** Poll (SQLite) or heartbeat (PostgreSQL, Redis) interval. Default 50 ms. */
  interval?: number
  /** Through the outage's way in. */
  cuttable?: boolean
}

export interface Opened<S extends AnyStore = AnyStore> {
  store: S
  /** Closes the store and its connections. */
  close(): Promise<void>
}

const noop = () => {}

/** Opens a shared store on a backend, with its own connections. */
export async function openStore(config: StoreConfig, options: OpenOptions = {}): Promise<Opened<SharedStore>> {
  const common = { maxStaleness: options.maxStaleness ?? 5000, sweepInterval: 0, ...(options.now ? { now: options.now } : {}) }
  const interval = options.interval ?? 50
  if (config.kind === 'sqlite') {
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new Database(config.file) }) })
    const store = new KyselyRevocationStore({ db, pollInterval: interval, ...common })
    return { store, close: async () => (await store.close(), await db.destroy()) }
  }
  if (config.kind === 'postgres') {
    const pool = new pg.Pool({ connectionString: config.url, max: 4, connectionTimeoutMillis: 2000 })
    pool.on('error', noop) // idle clients of a killed server
    const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) })
    const store = new KyselyRevocationStore({ db, listen: pool, heartbeatInterval: interval, ...common })
    return { store, close: async () => (await store.close(), await db.destroy()) }
  }
  const client = new Redis(config.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 })
  client.on('error', noop)
  const store = new RedisRevocationStore({ client, heartbeatInterval: interval, ...common })
  return { store, close: async () => (await store.close(), client.disconnect()) }
}

export interface Outage {
  /** The cuttable stores lose their backend. */
  begin(): Promise<void>
  /** Records a revocation (committed) that the cut stores cannot hear of. */
  revokeMeanwhile(jti: string, exp: number): Promise<void>
  end(): Promise<void>
}

export interface Backend {
  readonly kind: 'memory' | StoreConfig['kind']
  /** Whether two stores on it share revocations. */
  readonly shared: boolean
  open(options?: OpenOptions): Promise<Opened>
  /** The config a child process opens the same backend with. */
  config(): StoreConfig
  /** The expiry the backend holds for `jti` (epoch seconds, null for never), undefined if it holds none. */
  expiryOf(jti: string): Promise<number | null | undefined>
  readonly outage: Outage | undefined
  close(): Promise<void>
}

function memoryBackend(): Backend {
  return {
    kind: 'memory',
    shared: false,
    async open(options = {}) {
      const store = new MemoryRevocationStore({ sweepInterval: 0, ...(options.now ? { now: options.now } : {}) })
      return { store, close: async () => store.close() }
    },
    config: () => {
      throw new Error('a memory store cannot be shared')
    },
    expiryOf: async () => undefined,
    outage: undefined,
    close: async () => {},
  }
}

async function sqliteBackend(): Promise<Backend> {
  const dir = mkdtempSync(join(tmpdir(), 'keycard-stores-'))
  const file = join(dir, 'revocations.db')
  const setup = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new Database(file) }) })
  await createRevocationTable(setup)
  await setup.destroy()
  const raw = new Database(file)
  const config: StoreConfig = { kind: 'sqlite', file }
  return {
    kind: 'sqlite',
    shared: true,
    open: (options) => openStore(config, options),
    config: () => config,
    async expiryOf(jti) {
      const row = raw.prepare('select expires_at from keycard_revocations where jti = ?').get(jti) as
        | { expires_at: number | null }
        | undefined
      return row === undefined ? undefined : row.expires_at
    },
    outage: {
      async begin() {
        raw.exec('alter table keycard_revocations rename to keycard_revocations_away')
      },
      async revokeMeanwhile(jti, exp) {
        raw.prepare('insert into keycard_revocations_away (jti, expires_at) values (?, ?)').run(jti, exp)
      },
      async end() {
        raw.exec('alter table keycard_revocations_away rename to keycard_revocations')
      },
    },
    async close() {
      raw.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * Starts a killed server again. A SIGKILLed postmaster's backends can outlive it by a moment, still
 * attached to its shared memory, and a new postmaster refuses to start until they are gone: each
 * failed start is one more check of that condition, bounded (test-servers' kill() does not wait for them).
 */
async function restart(server: PostgresServer | RedisServer): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await server.start()
    } catch (err) {
      if (attempt >= 100 || !/pre-existing shared memory block/.test(String(err))) throw err
    }
  }
}

/** PostgreSQL or Redis: a server of this file's own (it gets killed), and a proxy for the cuttable stores. */
async function serverBackend(kind: 'postgres' | 'redis'): Promise<Backend> {
  let server: PostgresServer | RedisServer
  let direct: string
  if (kind === 'postgres') {
    const pgServer = await startPostgres()
    server = pgServer
    direct = await pgServer.createDatabase()
    const setup = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: direct }) }) })
    await createRevocationTable(setup)
    await setup.destroy()
  } else {
    const redisServer = await startRedis()
    server = redisServer
    direct = redisServer.url
  }
  const proxy: TcpProxy = await tcpProxy(server.port)
  const proxied = new URL(direct)
  proxied.port = String(proxy.port)
  const url = (cuttable?: boolean) => (cuttable ? proxied.toString() : direct)
  const config = (cuttable?: boolean): StoreConfig => ({ kind, url: url(cuttable) })

  async function expiryOf(jti: string): Promise<number | null | undefined> {
    if (kind === 'redis') {
      const client = new Redis(direct)
      try {
        const at = await client.expiretime(`keycard:revoked:${jti}`)
        return at === -2 ? undefined : at === -1 ? null : at
      } finally {
        client.disconnect()
      }
    }
    const client = new pg.Client({ connectionString: direct })
    await client.connect()
    try {
      const { rows } = await client.query('select expires_at from keycard_revocations where jti = $1', [jti])
      return rows.length === 0 ? undefined : rows[0].expires_at === null ? null : Number(rows[0].expires_at)
    } finally {
      await client.end()
    }
  }

  return {
    kind,
    shared: true,
    open: (options = {}) => openStore(config(options.cuttable), options),
    config: () => config(),
    expiryOf,
    outage: {
      async begin() {
        proxy.cut()
        await server.kill()
        await restart(server)
      },
      async revokeMeanwhile(jti, exp) {
        const other = await openStore(config())
        try {
          await other.store.ready()
          await other.store.revoke(jti, exp)
        } finally {
          await other.close()
        }
      },
      async end() {
        proxy.restore()
      },
    },
    async close() {
      await proxy.close()
      await server.stop()
    },
  }
}

export const STORES = ['memory', 'sqlite', 'postgres', 'redis'] as const
export type StoreKind = (typeof STORES)[number]

/** Starts the backend (its server, its file). */
export async function startBackend(kind: StoreKind): Promise<Backend> {
  if (kind === 'memory') return memoryBackend()
  if (kind === 'sqlite') return sqliteBackend()
  return serverBackend(kind)
}

/** Epoch seconds a test clock starts at, and a clock the test moves by hand. */
export function manualClock(): { now: () => number; advance(seconds: number): void } {
  let t = Math.floor(Date.now() / 1000)
  return {
    now: () => t,
    advance: (s) => {
      t += s
    },
  }
}

/** Resolves once `store` holds `jti` as revoked: at once, or on its `revoked` event (no polling). */
export function seen(store: SharedStore, jti: string): Promise<void> {
  return new Promise((resolve) => {
    const check = (id: string) => {
      if (id !== jti) return
      store.off('revoked', check)
      resolve()
    }
    store.on('revoked', check)
    if (known(store, jti)) check(jti)
  })
}

/** Whether the store answers `true` for `jti` (a stale store's refusal counts as not known). */
export function known(store: AnyStore, jti: string): boolean {
  try {
    return store.isRevoked(jti)
  } catch {
    return false
  }
}

/** Resolves on the store's next `event`. */
export function next(store: SharedStore, event: 'live' | 'stale' | 'disconnected'): Promise<void> {
  return new Promise((resolve) => store.once(event, () => resolve()))
}
