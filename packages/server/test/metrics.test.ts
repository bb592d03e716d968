/** GET /metrics: the counters move with real logins, refreshes and logouts; the text parses; where it is served. */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { loadConfig } from '../src/config.ts'
import { metricsUrl } from '../src/metrics/endpoint.ts'
import { PASSWORD, configProblems, forEachDialect, httpApi, startServer } from './helpers.ts'
import { parseExposition } from './metrics-text.ts'

const TOKEN = 'metrics-token-0123456789abcdef'

forEachDialect((dialect) => {
  test('counters move with logins (right, wrong, throttled), refreshes (reuse included) and logouts; histograms observe', async (t) => {
    let now = 1_900_000_000
    const s = await startServer(
      t,
      { METRICS_TOKEN: TOKEN, THROTTLE_ACCOUNT: '2/1h', REFRESH_REUSE_INTERVAL: '0' },
      { dialect, deps: { throttleNow: () => now } },
    )
    const scrape = async () => {
      const res = await s.api('GET', '/metrics', { token: TOKEN })
      assert.equal(res.status, 200, res.text)
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
      return parseExposition(res.text)
    }
    await s.register('alice')
    const { refresh_token } = await s.login('alice')
    assert.equal((await s.api('POST', '/auth/login', { body: { username: 'bob', password: 'wrong password' } })).status, 401)
    assert.equal((await s.api('POST', '/auth/login', { body: { username: 'bob', password: 'wrong password' } })).status, 401)
    assert.equal((await s.api('POST', '/auth/login', { body: { username: 'bob', password: PASSWORD } })).status, 429)
    const rotated = await s.api('POST', '/auth/refresh', { token: refresh_token })
    assert.equal(rotated.status, 200)
    // The first refresh token again, past the (default zero) reuse interval: reuse, the session is revoked.
    assert.equal((await s.api('POST', '/auth/refresh', { token: refresh_token })).status, 401)
    const { access_token } = await s.login('alice')
    assert.equal((await s.api('POST', '/auth/logout', { token: access_token })).status, 200)
    assert.equal((await s.api('GET', '/no/such/route/12345')).status, 404)
    now += 1

    const m = await scrape()
    assert.equal(m.get('keycard_logins_total{outcome="success"}'), 2)
    assert.equal(m.get('keycard_logins_total{outcome="bad_credentials"}'), 2)
    assert.equal(m.get('keycard_logins_total{outcome="throttled"}'), 1)
    assert.equal(m.get('keycard_throttled_requests_total{kind="login"}'), 1)
    assert.equal(m.get('keycard_refreshes_total{outcome="success"}'), 1)
    assert.equal(m.get('keycard_refreshes_total{outcome="reuse_detected"}'), 1)
    assert.equal(m.get('keycard_revocations_total{reason="reuse_detected"}'), 1)
    assert.equal(m.get('keycard_revocations_total{reason="logout"}'), 1)
    assert.equal(m.get('keycard_http_requests_total{method="POST",route="/auth/login",status="401"}'), 2)
    assert.equal(m.get('keycard_http_requests_total{method="other",route="unmatched",status="404"}'), 1)
    // Route templates only: the raw URL never becomes a label.
    assert.ok(![...m.keys()].some((k) => k.includes('12345')))
    assert.equal(m.get('keycard_http_request_duration_seconds_count{method="POST",route="/auth/login",status="200"}'), 2)
    assert.ok(m.get('keycard_http_request_duration_seconds_sum{method="POST",route="/auth/login",status="200"}')! > 0)
    // register hashes once, three logins verify (the throttled one does not): argon2's histogram saw them.
    assert.equal(m.get('keycard_argon2_duration_seconds_count{op="verify"}'), 4)
    assert.ok((m.get('keycard_argon2_duration_seconds_count{op="hash"}') ?? 0) >= 1)
    assert.equal(m.get('keycard_argon2_queue_depth'), 0)
    const staleness = m.get('keycard_revocation_view_staleness_seconds')!
    assert.ok(staleness >= 0 && staleness < s.config.revocationMaxStaleness, String(staleness))
    assert.ok(m.has('process_cpu_user_seconds_total'), 'process default metrics')
    if (dialect === 'postgres') assert.ok((m.get('keycard_db_pool_connections{state="total"}') ?? 0) >= 1)
    else assert.equal(m.get('keycard_db_pool_waiting'), 0)
  })

  test('a revocation written by another instance is counted in the propagation-lag histogram when polled', async (t) => {
    let polled: () => void = () => {}
    const a = await startServer(t, { METRICS_TOKEN: TOKEN }, { dialect, deps: { onSync: () => polled() } })
    const b = await startServer(t, {}, { dialect, dir: a.dir })
    await b.register('carol')
    const { access_token } = await b.login('carol')
    assert.equal((await b.api('POST', '/auth/logout', { token: access_token })).status, 200)
    // Two polls of a's after the commit: the second began after it, so a has read the revocation.
    await new Promise<void>((resolve) => {
      let n = 0
      polled = () => {
        if (++n === 2) resolve()
      }
    })
    assert.equal((await a.api('GET', '/auth/me', { token: access_token })).status, 401)
    const m = parseExposition((await a.api('GET', '/metrics', { token: TOKEN })).text)
    // On PostgreSQL LISTEN/NOTIFY may apply it first (no commit time in the notification): then no observation.
    const count = m.get('keycard_revocation_propagation_lag_seconds_count')
    if (dialect === 'sqlite') assert.equal(count, 1)
    else assert.ok(count === 0 || count === 1, String(count))
  })
})

test('METRICS_TOKEN: /metrics on the main port answers 401 without or with a wrong token, 200 with it', async (t) => {
  const s = await startServer(t, { METRICS_TOKEN: TOKEN })
  for (const headers of [{} as Record<string, string>, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: TOKEN }]) {
    const res = await s.api('GET', '/metrics', { headers })
    assert.equal(res.status, 401, JSON.stringify(headers))
    assert.equal(res.body.code, 'METRICS_UNAUTHORIZED')
    assert.match(res.body.msg, /METRICS_TOKEN/)
    assert.ok(!res.text.includes(TOKEN))
  }
  assert.equal((await s.api('GET', '/metrics', { token: TOKEN })).status, 200)
})

test('METRICS_PORT: a separate listener serves /metrics (and only it); the main port 404s; it closes with the server', async (t) => {
  const s = await startServer(t, { METRICS_PORT: '0' })
  const url = metricsUrl(s.app)
  assert.ok(url, 'the metrics listener listens')
  assert.equal((await s.api('GET', '/metrics')).status, 404)
  const api = httpApi(url)
  const res = await api('GET', '/metrics')
  assert.equal(res.status, 200)
  assert.ok(parseExposition(res.text).has('keycard_logins_total') || res.text.includes('# TYPE keycard_logins_total counter'))
  const other = await api('GET', '/healthz')
  assert.equal(other.status, 404)
  assert.equal(other.body.code, 'NOT_FOUND')
  await s.close()
  await assert.rejects(fetch(`${url}/metrics`))
})

test('neither METRICS_PORT nor METRICS_TOKEN: no /metrics at all', async (t) => {
  const s = await startServer(t)
  const res = await s.api('GET', '/metrics')
  assert.equal(res.status, 404)
})

test('METRICS_* are validated at startup with messages that say how to fix them', () => {
  assert.match(configProblems({ METRICS_TOKEN: 'short' }).join('\n'), /METRICS_TOKEN: must be at least 16 characters, got 5; generate one/)
  assert.match(configProblems({ METRICS_TOKEN: 'has a space in it 0123' }).join('\n'), /METRICS_TOKEN: must be printable ASCII/)
  assert.match(configProblems({ METRICS_PORT: '70000' }).join('\n'), /METRICS_PORT: expected a port from 0 to 65535/)
  assert.match(configProblems({ METRICS_PORT: '3000', PORT: '3000' }).join('\n'), /METRICS_PORT: must differ from PORT/)
  assert.match(configProblems({ METRICS_HOST: '0.0.0.0' }).join('\n'), /METRICS_HOST: only used with METRICS_PORT/)
  const ok = loadConfig({ INIT_CWD: '/srv/app', METRICS_PORT: '9464', METRICS_TOKEN: TOKEN })
  assert.deepEqual([ok.metricsPort, ok.metricsHost, ok.metricsToken], [9464, '127.0.0.1', TOKEN])
})
