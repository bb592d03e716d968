/**
 * A throwaway Redis server: `redis-server` on a free loopback port, no persistence, in a temp dir,
 * stopped by `stop()` (and killed if the test process exits first).
 */

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { redisBinary } from './binaries.ts'
import { freePort } from './ports.ts'
import { groupGone, killGroup, startProcess, type Started } from './process.ts'

export interface RedisServer {
  readonly host: '127.0.0.1'
  readonly port: number
  /** `redis://127.0.0.1:port` */
  readonly url: string
  readonly running: boolean
  /** The server process id (SIGSTOP it to make Redis hang). */
  readonly pid: number | undefined
  /** Kills it at once (SIGKILL); `start()` brings it back on the same port (empty: nothing is saved). */
  kill(): Promise<void>
  start(): Promise<void>
  /** Stops it and removes its dir. */
  stop(): Promise<void>
}

const READY = /Ready to accept connections/

/**
 * Starts a new Redis server.
 *
 * @example
 * const redis = await startRedis()
 * // … new Redis(redis.url) …
 * await redis.stop()
 */
export async function startRedis(): Promise<RedisServer> {
  const bin = redisBinary()
  const dir = mkdtempSync(join(tmpdir(), 'keycard-redis-'))
  const port = await freePort()
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'no']
  let current: Started | undefined
  const launch = async () => {
    current = await startProcess(bin, args, READY, { cwd: dir })
  }
  const halt = async (signal: NodeJS.Signals) => {
    const proc = current
    if (!proc || proc.child.exitCode !== null) return
    killGroup(proc.child, signal)
    await proc.exited
    // The leader's exit is not the group's: a killed server's workers may still hold its resources.
    if (proc.child.pid !== undefined) await groupGone(proc.child.pid)
    current = undefined
  }
  await launch()
  return {
    host: '127.0.0.1',
    port,
    url: `redis://127.0.0.1:${port}`,
    get running() {
      return current !== undefined && current.child.exitCode === null
    },
    get pid() {
      return current?.child.pid
    },
    kill: () => halt('SIGKILL'),
    async start() {
      if (current === undefined || current.child.exitCode !== null) await launch()
    },
    async stop() {
      await halt('SIGTERM')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
