/**
 * The autocannon load generator, run as its own process (bench/run.ts pins it to its own core).
 * Repeated mode sends one token; fresh mode rotates through a pre-minted pool with `setupRequest`,
 * so the rotation cost is paid here, on the load generator's core, never by the server.
 *
 * Usage: node --import tsx bench/loadgen/autocannon.ts '<json LoadSpec>'  → one JSON line (LoadResult).
 */

import autocannon from 'autocannon'
import { readFileSync, writeFileSync } from 'node:fs'
import type { LoadResult, LoadSpec } from './spec.ts'

const spec = JSON.parse(process.argv[2]!) as LoadSpec
const url = new URL(spec.path, spec.url).toString()
const tokens = spec.tokenFile ? readFileSync(spec.tokenFile, 'utf8').split('\n').filter(Boolean) : []

let options: autocannon.Options
const queue = spec.chain ? [...tokens] : []
if (spec.chain) {
  let last = queue[0] ?? ''
  options = {
    url,
    requests: [
      {
        method: spec.method as autocannon.Request['method'],
        setupRequest: (request) => {
          last = queue.shift() ?? last
          return { ...request, headers: { 'content-type': 'application/json', authorization: `Bearer ${last}` }, body: spec.body ?? '{}' }
        },
        onResponse: (status, body) => {
          if (status < 200 || status > 299) return
          const next = (JSON.parse(body) as { refresh_token?: unknown }).refresh_token
          if (typeof next === 'string') queue.push(next)
        },
      },
    ],
  }
} else if (spec.body !== undefined) {
  options = {
    url,
    method: spec.method as autocannon.Request['method'],
    headers: { 'content-type': 'application/json', ...(spec.token ? { authorization: `Bearer ${spec.token}` } : {}) },
    body: spec.body,
  }
} else if (tokens.length > 0) {
  let next = 0
  const headers = (i: number) => ({ authorization: spec.rawAuthorization ? tokens[i]! : `Bearer ${tokens[i]}` })
  options = {
    url,
    requests: [
      {
        method: spec.method as autocannon.Request['method'],
        setupRequest: (request) => {
          const i = next
          next = next + 1 === tokens.length ? 0 : next + 1
          return { ...request, headers: headers(i) }
        },
      },
    ],
  }
} else {
  options = {
    url,
    method: spec.method as autocannon.Request['method'],
    headers: spec.token ? { authorization: `Bearer ${spec.token}` } : {},
  }
}

const result = await autocannon({ ...options, connections: spec.connections, duration: spec.duration, timeout: 10 })
if (spec.chain && spec.tokenFile) writeFileSync(spec.tokenFile, `${queue.join('\n')}\n`)
const seconds = result.duration
const out: LoadResult = {
  requests: result.requests.total,
  seconds,
  rps: result.requests.total / seconds,
  ok2xx: result['2xx'],
  non2xx: result.non2xx,
  errors: result.errors + result.timeouts,
  latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
}
process.stdout.write(`${JSON.stringify(out)}\n`)
