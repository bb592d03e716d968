/**
 * Revocation propagation between two instances on one database, under load: instance B serves a
 * fresh-token `/auth/verify` load (the load generator, on its own core) while the bench, one
 * revocation at a time, logs a session out on A and polls B with that session's token, back to back,
 * until B refuses it. Reported from the moment A acknowledged the logout (what a client can rely on)
 * and from the moment the logout was sent.
 */

import type { LoadResult } from '../loadgen/spec.ts'
import { runLoad, startServer, stopServer, type RunningServer } from '../run.ts'
import { liveSessions, type Layout } from './layout.ts'
import { keycardContender, quantile, START_TIMEOUT_MS, type Rig } from './measure.ts'
import { bearer, timed, tokensFor } from './tokens.ts'

export interface PropagationResult {
  revocations: number
  /** From A's 200 to B's first 401, ms. */
  fromAck: { p50: number; p99: number; max: number }
  /** From sending the logout to B's first 401, ms. */
  fromSend: { p50: number; p99: number; max: number }
  /** B's polls per revocation (median): how fine the measurement was. */
  pollsMedian: number
  /** The load on B meanwhile (requests/s, median of its chunks), and whether all of it was 2xx. */
  loadRps: number
  loadAllOk: boolean
}

/** Most polls of B per revocation before giving up (the 1 s target is a small fraction of this). */
const MAX_POLLS = 20_000
/** Revocations stop after this long (a 5 s poll would otherwise make 200 of them take 17 minutes). */
const BUDGET_MS = 90_000

const stats = (values: number[]) => ({ p50: quantile(values, 0.5), p99: quantile(values, 0.99), max: Math.max(...values) })

/**
 * Starts instances A and B on `env.DATABASE_URL`, loads B, times `revocations` logouts.
 *
 * @example
 * const r = await measurePropagation(rig, { env, layout, dbid, poolFile, revocations: 200, connections: 50 })
 */
export async function measurePropagation(
  rig: Rig,
  options: { env: Record<string, string>; layout: Layout; dbid: string; poolFile: string; revocations: number; connections: number },
): Promise<PropagationResult> {
  const servers: RunningServer[] = []
  let done = false
  const chunks: LoadResult[] = []
  let loading: Promise<void> = Promise.resolve()
  try {
    for (const name of ['a', 'b'])
      servers.push(await startServer(keycardContender(`instance-${name}`, name, options.env), rig.serverCpu, rig.launch, START_TIMEOUT_MS))
    const [a, b] = servers as [RunningServer, RunningServer]
    // Parity 1: never a session of the load's pool (parity 0), so the load stays all 2xx.
    const tokens = await tokensFor(options.layout, liveSessions(options.layout, options.revocations, 1), options.dbid)
    loading = (async () => {
      while (!done) {
        const spec = {
          url: b.url,
          path: '/auth/verify',
          method: 'GET' as const,
          duration: 3,
          connections: options.connections,
          tokenFile: options.poolFile,
        }
        chunks.push(await runLoad(rig.loadgen, spec, rig.loadCpu, rig.tmp))
      }
    })()
    const fromAck: number[] = []
    const fromSend: number[] = []
    const polls: number[] = []
    rig.log(`propagation: ${tokens.length} revocations, A → B`)
    const started = performance.now()
    for (const token of tokens) {
      if (performance.now() - started > BUDGET_MS) break
      const before = await timed(`${b.url}/auth/verify`, { headers: bearer(token) })
      if (before.status !== 200)
        throw new Error(`propagation: B refused a live session's token before its logout (${before.status} ${before.body})`)
      const t0 = performance.now()
      const logout = await timed(`${a.url}/auth/logout`, { method: 'POST', headers: bearer(token, true), body: '{}' })
      const ack = performance.now()
      if (logout.status !== 200) throw new Error(`propagation: logout on A answered ${logout.status} ${logout.body}`)
      let refused = false
      let n = 0
      while (!refused && n < MAX_POLLS) {
        n++
        const r = await timed(`${b.url}/auth/verify`, { headers: bearer(token) })
        if (r.status === 401) refused = true
        else if (r.status !== 200) throw new Error(`propagation: B answered ${r.status} ${r.body}`)
      }
      if (!refused) throw new Error(`propagation: B still accepted a logged-out session after ${MAX_POLLS} polls`)
      const end = performance.now()
      fromAck.push(end - ack)
      fromSend.push(end - t0)
      polls.push(n)
    }
    done = true
    await loading
    const rps = chunks.map((c) => c.rps).sort((x, y) => x - y)
    return {
      revocations: fromAck.length,
      fromAck: stats(fromAck),
      fromSend: stats(fromSend),
      pollsMedian: quantile(polls, 0.5),
      loadRps: rps[rps.length >> 1] ?? 0,
      loadAllOk: chunks.length > 0 && chunks.every((c) => c.non2xx === 0 && c.errors === 0),
    }
  } finally {
    done = true
    await loading.catch(() => undefined)
    await Promise.all(servers.map(stopServer))
  }
}
