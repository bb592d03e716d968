/**
 * A throwaway PostgreSQL server: `initdb` into a temp dir, `postgres` on a free loopback port with a
 * password (scram-sha-256), stopped and removed by `stop()` (and killed if the test process exits
 * first). PostgreSQL refuses to run as root, so under root (CI) it runs as the `postgres` user that
 * Debian's package creates. Each test takes a database of its own (`createDatabase`).
 *
 * fsync is off (the data dir is thrown away, and a killed server still leaves its writes in the OS page
 * cache); synchronous_commit stays on, so an acknowledged commit survives the server being killed.
 */

import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { postgresBinary } from './binaries.ts'
import { freePort } from './ports.ts'
import { childrenOf, groupGone, killGroup, pidsGone, startProcess, type Started } from './process.ts'

export interface PostgresServer {
  readonly host: '127.0.0.1'
  readonly port: number
  readonly user: string
  readonly password: string
  /** `postgres://user:password@127.0.0.1:port/<database>` (default the `postgres` database). */
  url(database?: string): string
  /** Creates an empty database (a random name unless given) and returns its URL. */
  createDatabase(name?: string): Promise<string>
  /** The server process id (for fault tests: SIGSTOP a server to make it hang). */
  readonly pid: number | undefined
  /** Whether the server is running. */
  readonly running: boolean
  /** Kills the postmaster at once (SIGKILL), as a crash does; its backends follow. `start()` brings it back on the same port and data. */
  kill(): Promise<void>
  /** Fast shutdown (SIGINT: active connections are terminated, as on a deploy or a restart). */
  shutdown(): Promise<void>
  /** Starts it again after `kill()` or `shutdown()`. */
  start(): Promise<void>
  /** Stops it and removes its data dir. */
  stop(): Promise<void>
}

export interface PostgresOptions {
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string | number>
  /** Remove the data dir when this process exits (the server itself is always killed then). */
  removeOnExit?: boolean
}

/** The uid/gid to run as: ourselves, or Debian's `postgres` user when we are root. */
function runAs(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
    return { uid, gid }
  } catch {
    throw new Error(
      'PostgreSQL refuses to run as root, and there is no `postgres` user to run it as: install the postgresql package (apt-get install postgresql), which creates one',
    )
  }
}

const READY = /database system is ready to accept connections/

/**
 * Starts a new PostgreSQL server.
 *
 * @example
 * const pgServer = await startPostgres()
 * const url = await pgServer.createDatabase()
 * // … DATABASE_URL=url …
 * await pgServer.stop()
 */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const initdb = postgresBinary('initdb')
  const postgres = postgresBinary('postgres')
  const owner = runAs()
  const dir = mkdtempSync(join(tmpdir(), 'keycard-pg-'))
  const dataDir = join(dir, 'data')
  const user = 'keycard'
  const password = randomBytes(12).toString('hex')
  const pwfile = join(dir, 'pwfile')
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 })
  if (owner) {
    chownSync(dir, owner.uid, owner.gid)
    chownSync(pwfile, owner.uid, owner.gid)
  }
  const ids = owner ? { uid: owner.uid, gid: owner.gid } : {}
  try {
    execFileSync(
      initdb,
      [
        '-D',
        dataDir,
        '-U',
        user,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '-E',
        'UTF8',
        '--locale=C',
        '--no-sync',
        '--no-instructions',
      ],
      { ...ids, stdio: ['ignore', 'pipe', 'pipe'], cwd: dir },
    )
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    const e = err as { stderr?: Buffer; message: string }
    throw new Error(`initdb failed: ${e.stderr?.toString() || e.message}`)
  }
  rmSync(pwfile, { force: true })
  if (options.removeOnExit) process.once('exit', () => rmSync(dir, { recursive: true, force: true }))

  const port = await freePort()
  const settings: Record<string, string | number> = {
    listen_addresses: '127.0.0.1',
    port,
    unix_socket_directories: dir,
    fsync: 'off',
    full_page_writes: 'off',
    max_connections: 300,
    shared_buffers: '64MB',
    ...options.settings,
  }
  const args = ['-D', dataDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])]
  let current: Started | undefined
  const launch = async () => {
    current = await startProcess(postgres, args, READY, { ...ids, cwd: dir })
  }
  // SIGKILL: the postmaster dies at once, as in a crash; its backends (each in a process group of its
  // own: they call setsid) notice, tell their clients "terminating connection due to unexpected
  // postmaster exit" and exit. SIGINT: a fast shutdown, the postmaster stops its backends itself.
  // Either way the next start waits until they are gone: they hold the shared memory until then.
  const halt = async (signal: NodeJS.Signals) => {
    const proc = current
    if (!proc || proc.child.exitCode !== null) return
    proc.child.ref() // awaiting its exit must keep this process alive
    const backends = proc.child.pid === undefined ? [] : childrenOf(proc.child.pid)
    if (signal === 'SIGKILL') killGroup(proc.child, signal)
    else proc.child.kill(signal)
    await proc.exited
    if (proc.child.pid !== undefined) await groupGone(proc.child.pid)
    await pidsGone(backends)
    current = undefined
  }
  await launch()

  const url = (database = 'postgres') => `postgres://${user}:${password}@127.0.0.1:${port}/${encodeURIComponent(database)}`
  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    url,
    get pid() {
      return current?.child.pid
    },
    get running() {
      return current !== undefined && current.child.exitCode === null
    },
    async createDatabase(name = `t_${randomBytes(8).toString('hex')}`) {
      const client = new pg.Client({ connectionString: url() })
      client.on('error', () => undefined) // its queries reject; the event must not be uncaught
      await client.connect()
      try {
        await client.query(`create database "${name.replaceAll('"', '""')}"`)
      } finally {
        await client.end()
      }
      return url(name)
    },
    kill: () => halt('SIGKILL'),
    shutdown: () => halt('SIGINT'),
    async start() {
      if (current !== undefined && current.child.exitCode === null) return
      await launch()
    },
    async stop() {
      await halt('SIGINT')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
