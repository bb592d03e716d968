/**
 * The scale bench's server: the real Keycard server (packages/server `loadConfig` + `buildApp`, as
 * bench/servers/keycard-server-main.ts) with three bench-only additions:
 * - `BENCH_PURGE_INTERVAL_MS` sets the purge timer (`AppDeps.purgeIntervalMs`; default the server's hour),
 *   so a purge of many expired sessions runs while the bench watches, and `BENCH_SYNC_INTERVAL_MS` the
 *   poll for other processes' revocations and admin changes (`AppDeps.revocationSyncMs`, default 5 s),
 *   so the purge's own stall can be told apart from the poll's;
 * - one `STARTUP {"readyMs":…,"buildAppMs":…}` line before `listening <url>`: milliseconds since the
 *   process started (performance.timeOrigin), and the part spent in buildApp (migrations check,
 *   revocation view and admins loaded, start-up purge, routes);
 * - an event-loop delay histogram at 1 ms resolution: on SIGUSR2 it prints
 *   `ELD {"p50":ms,"p99":ms,"max":ms}` for the time since the previous SIGUSR2, then resets (the same
 *   protocol as bench/servers/eld-probe.ts, finer: a 50 ms stall must stand out of a 1 ms tick).
 */

import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { buildApp } from '../../packages/server/src/app.ts'
import { loadConfig } from '../../packages/server/src/config.ts'
import { announce, exitOnSignal, host, port } from '../servers/common.ts'

const histogram = monitorEventLoopDelay({ resolution: 1 })
process.on('SIGUSR2', () => {
  const ms = (ns: number) => (Number.isFinite(ns) ? ns / 1e6 : 0)
  const line = { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max) }
  process.stdout.write(`ELD ${JSON.stringify(line)}\n`)
  histogram.reset()
})

const purgeMs = Number(process.env.BENCH_PURGE_INTERVAL_MS ?? '')
const syncMs = Number(process.env.BENCH_SYNC_INTERVAL_MS ?? '')
const config = loadConfig({ ...process.env, PORT: String(port), HOST: host, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' })
const before = performance.now()
const app = await buildApp(config, {
  ...(Number.isInteger(purgeMs) && purgeMs > 0 ? { purgeIntervalMs: purgeMs } : {}),
  ...(Number.isInteger(syncMs) && syncMs > 0 ? { revocationSyncMs: syncMs } : {}),
})
const built = performance.now()
const address = await app.listen({ port: config.port, host: config.host })
histogram.enable()
process.stdout.write(`STARTUP ${JSON.stringify({ readyMs: performance.now(), buildAppMs: built - before })}\n`)
announce(address)
exitOnSignal(() => app.close())
