/**
 * Throwaway PostgreSQL and Redis servers for the test suites, started from the installed binaries in
 * temp dirs on free ports. `sharedPostgres()` gives the one server of this test run: the one whose URL
 * `scripts/test.mjs` passes in KEYCARD_TEST_POSTGRES_URL, or else one started for this process and
 * stopped when it exits. Tests that kill or stop a server start their own with `startPostgres()`.
 *
 * @example
 * import { sharedPostgres } from '@keycard/test-servers'
 * const url = await (await sharedPostgres()).createDatabase()
 */

import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { startPostgres } from './postgres.ts'

export { MissingBinaryError, postgresBinary, redisBinary } from './binaries.ts'
export { freePort } from './ports.ts'
export { startPostgres, type PostgresOptions, type PostgresServer } from './postgres.ts'
export { startRedis, type RedisServer } from './redis.ts'

/** The environment variable holding the admin URL of a PostgreSQL server shared by a whole test run. */
export const SHARED_POSTGRES_ENV = 'KEYCARD_TEST_POSTGRES_URL'

export interface SharedPostgres {
  /** Creates an empty database and returns its URL. */
  createDatabase(): Promise<string>
  /** Drops a database made by `createDatabase` (closing its connections first). */
  dropDatabase(url: string): Promise<void>
}

let shared: Promise<SharedPostgres> | undefined

async function onAdmin<T>(adminUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl })
  // A server killed under it: its queries reject; the 'error' event must not be an uncaught one.
  client.on('error', () => undefined)
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

function sharedFrom(adminUrl: string): SharedPostgres {
  return {
    async createDatabase() {
      const name = `t_${randomBytes(8).toString('hex')}`
      await onAdmin(adminUrl, (c) => c.query(`create database ${name}`))
      const url = new URL(adminUrl)
      url.pathname = `/${name}`
      return url.toString()
    },
    async dropDatabase(url) {
      const name = new URL(url).pathname.slice(1)
      if (!/^t_[0-9a-f]{16}$/.test(name)) throw new Error(`not a test database: ${name}`)
      await onAdmin(adminUrl, (c) => c.query(`drop database if exists ${name} with (force)`))
    },
  }
}

/** The test run's PostgreSQL server (see the module comment). */
export function sharedPostgres(): Promise<SharedPostgres> {
  shared ??= (async () => {
    const given = process.env[SHARED_POSTGRES_ENV]
    if (given) return sharedFrom(given)
    // Killed (and its dir removed) when this process exits: see process.ts.
    const server = await startPostgres({ removeOnExit: true })
    return sharedFrom(server.url())
  })()
  return shared
}
