/**
 * One server on a PostgreSQL that fails under it: killed (SIGKILL), stopped (fast shutdown) and started
 * again, hung (SIGSTOP), its connections dropped (pg_terminate_backend), its pool exhausted, a query slower than
 * DATABASE_STATEMENT_TIMEOUT_MS. Clients get 503 `{"msg","code"}` with Retry-After, soon (never a 500
 * or a hang), /healthz says 503 while it lasts, and the server recovers by itself once the database is
 * back. And nothing acknowledged is lost: every registration answered 201 during a kill is there after.
 *
 * PostgreSQL-only by nature. These tests kill their server, so they use one of their own, not the
 * run's shared one.
 */

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { after, before, describe, test, type TestContext } from 'node:test'
import { startPostgres, type PostgresServer } from '@keycard/test-servers'
import pg from 'pg'
import { PASSWORD, startServer, type TestServer } from './helpers.ts'

/** The processes whose parent is `pid` (PostgreSQL's backends and workers). */
function childPids(pid: number): number[] {
  return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => n > 0)
}

/** A request's answer, or a failure of the request itself (which would be a hang or a dropped socket: a bug). */
interface Answer {
  status: number
  retryAfter: string | null
  body: any
}

/** The test's own safety net: a request the server leaves hanging fails the test instead of the suite timing out. */
const SAFETY_MS = 20_000

async function call(s: TestServer, method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(s.url + path, {
    method,
    signal: AbortSignal.timeout(SAFETY_MS),
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  })
  const text = await res.text()
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: text ? JSON.parse(text) : undefined }
}

/** A 503 as the contract has it: a message and a code, and when to retry. */
function assertUnavailable(answer: Answer, what: string): void {
  // The message only: a body that is not an error may hold tokens.
  assert.equal(answer.status, 503, `${what}: ${answer.body?.msg}`)
  assert.equal(answer.retryAfter, '1', what)
  assert.deepEqual(Object.keys(answer.body).sort(), ['code', 'msg'], what)
  assert.match(answer.body.code, /^DATABASE_(UNAVAILABLE|BUSY)$/, what)
  assert.equal(typeof answer.body.msg, 'string', what)
}

/**
 * Calls `fn` until `ok` holds, at most `tries` times; each try is a round trip to the server, so this
 * waits on the server's own answers, not on a clock.
 */
async function until(fn: () => Promise<Answer>, ok: (a: Answer) => boolean, tries = 200): Promise<Answer> {
  let last = await fn()
  for (let i = 1; i < tries && !ok(last); i++) last = await fn()
  return last
}

/** The 500s the server answered (each logs "request failed"; a 503 logs "database unavailable: …" instead). */
function errorsLogged(s: TestServer): Record<string, unknown>[] {
  return s.logLines().filter((l) => l.msg === 'request failed' || (l.res as { statusCode?: number } | undefined)?.statusCode === 500)
}

async function adminQuery(pgServer: PostgresServer, database: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: pgServer.url(database) })
  client.on('error', () => undefined) // the server is killed under some of these: the query rejects, no uncaught event
  await client.connect()
  try {
    return await client.query(text, values)
  } finally {
    await client.end()
  }
}

/** A connection of the test's own that holds `lock table <table>` (exclusive) until `release()`. */
async function holdLock(t: TestContext, url: string, table: string): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url, application_name: 'keycard-test-lock' })
  client.on('error', () => undefined)
  await client.connect()
  await client.query('begin')
  await client.query(`lock table ${table} in access exclusive mode`)
  let released = false
  const release = async () => {
    if (released) return
    released = true
    await client.query('rollback').catch(() => undefined)
    await client.end().catch(() => undefined)
  }
  t.after(release)
  return { release }
}

describe('a single server on a PostgreSQL that fails', () => {
  let pgServer: PostgresServer
  before(async () => {
    pgServer = await startPostgres()
  })
  after(async () => {
    await pgServer?.stop()
  })

  /** A server on a new database of our own PostgreSQL, with short timeouts so that a failure is quick. */
  async function serverOnOwnPostgres(
    t: TestContext,
    env: Record<string, string> = {},
  ): Promise<{ s: TestServer; url: string; name: string }> {
    const url = await pgServer.createDatabase()
    const s = await startServer(t, {
      DATABASE_URL: url,
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
      DATABASE_STATEMENT_TIMEOUT_MS: '1000',
      ...env,
    })
    return { s, url, name: new URL(url).pathname.slice(1) }
  }

  for (const [how, stop] of [
    ['killed (SIGKILL)', (p: PostgresServer) => p.kill()],
    ['stopped (fast shutdown)', (p: PostgresServer) => p.shutdown()],
  ] as const) {
    test(`PostgreSQL ${how}: 503 with Retry-After and /healthz 503 while it is down; back to 200 by itself once it is up`, async (t) => {
      t.after(() => pgServer.start())
      const { s } = await serverOnOwnPostgres(t)
      await s.register('alice')
      assert.equal((await call(s, 'GET', '/healthz')).status, 200)

      await stop(pgServer)
      assertUnavailable(await call(s, 'GET', '/healthz'), 'healthz')
      assert.match((await call(s, 'GET', '/healthz')).body.msg, /^Database unavailable: /)
      assertUnavailable(await call(s, 'POST', '/auth/login', { username: 'alice', password: PASSWORD }), 'login')
      assertUnavailable(await call(s, 'POST', '/auth/register', { username: 'bob', password: PASSWORD }), 'register')

      await pgServer.start()
      const health = await until(
        () => call(s, 'GET', '/healthz'),
        (a) => a.status === 200,
      )
      assert.equal(health.status, 200, JSON.stringify(health.body))
      assert.equal((await call(s, 'POST', '/auth/login', { username: 'alice', password: PASSWORD })).status, 200)
      assert.equal((await call(s, 'POST', '/auth/register', { username: 'bob', password: PASSWORD })).status, 201, 'bob was not half-made')
      assert.deepEqual(errorsLogged(s), [])
    })
  }

  test('PostgreSQL hung (SIGSTOP: connections open but nothing answers): 503 within the timeouts, not a hang; then 200', async (t) => {
    const { s } = await serverOnOwnPostgres(t)
    await s.register('alice')
    // The postmaster and every backend (each leads a process group of its own): all stopped, as a frozen machine would be.
    const pids = [pgServer.pid!, ...childPids(pgServer.pid!)]
    for (const pid of pids) process.kill(pid, 'SIGSTOP')
    let resumed = false
    const resume = () => {
      if (!resumed) for (const pid of pids) process.kill(pid, 'SIGCONT')
      resumed = true
    }
    t.after(resume)
    // A pooled connection waits for the statement timeout plus a second (the client's own limit), a new one for the connect timeout.
    assertUnavailable(await call(s, 'POST', '/auth/login', { username: 'alice', password: PASSWORD }), 'login')
    assertUnavailable(await call(s, 'GET', '/healthz'), 'healthz')
    resume()
    const health = await until(
      () => call(s, 'GET', '/healthz'),
      (a) => a.status === 200,
    )
    assert.equal(health.status, 200, JSON.stringify(health.body))
    assert.equal((await call(s, 'POST', '/auth/login', { username: 'alice', password: PASSWORD })).status, 200)
    assert.deepEqual(errorsLogged(s), [])
  })

  test('a dropped connection (pg_terminate_backend) in the middle of a request is a 503, and the next requests succeed', async (t) => {
    const { s, url, name } = await serverOnOwnPostgres(t, { DATABASE_STATEMENT_TIMEOUT_MS: '10000' })
    await s.register('alice')
    // The login's first query waits on a lock the test holds, so its connection is busy when it is dropped.
    const lock = await holdLock(t, url, 'users')
    const login = call(s, 'POST', '/auth/login', { username: 'alice', password: PASSWORD })
    const waiting = await until(
      async () => {
        const { rows } = await adminQuery(
          pgServer,
          name,
          "select count(*)::int as n from pg_stat_activity where application_name = 'keycard' and wait_event_type = 'Lock'",
        )
        return { status: rows[0].n, retryAfter: null, body: undefined }
      },
      (a) => a.status > 0,
    )
    assert.equal(waiting.status, 1, 'the login waits on the lock')
    const { rows } = await adminQuery(
      pgServer,
      name,
      "select count(*)::int as n from (select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'keycard') t",
    )
    assert.ok(rows[0].n >= 1)
    assertUnavailable(await login, 'the login whose connection was dropped')
    await lock.release()

    assert.equal((await call(s, 'POST', '/auth/login', { username: 'alice', password: PASSWORD })).status, 200)
    assert.equal((await call(s, 'GET', '/healthz')).status, 200)
    assert.deepEqual(errorsLogged(s), [])
  })

  test('the pool exhausted (DATABASE_POOL_SIZE=1, its connection stuck on a lock): 503 within the connect timeout, then 200', async (t) => {
    const { s, url } = await serverOnOwnPostgres(t, {
      DATABASE_POOL_SIZE: '1',
      DATABASE_CONNECT_TIMEOUT_MS: '1500',
      DATABASE_STATEMENT_TIMEOUT_MS: '5000',
    })
    await s.register('alice')
    const lock = await holdLock(t, url, 'users')
    // The first login takes the only connection and waits on the lock; the others find no free connection.
    const stuck = call(s, 'POST', '/auth/login', { username: 'alice', password: PASSWORD })
    const others = await Promise.all([
      call(s, 'POST', '/auth/login', { username: 'alice', password: PASSWORD }),
      call(s, 'GET', '/healthz'),
      call(s, 'POST', '/auth/register', { username: 'bob', password: PASSWORD }),
    ])
    for (const [i, answer] of others.entries()) assertUnavailable(answer, `request ${i} while the pool is taken`)
    assert.match(others[0]!.body.msg, /no connection was free/)
    await lock.release()
    assert.equal((await stuck).status, 200, 'the stuck login completes once the lock is gone')
    assert.equal((await call(s, 'POST', '/auth/register', { username: 'bob', password: PASSWORD })).status, 201)
    assert.equal((await call(s, 'GET', '/healthz')).status, 200)
    assert.deepEqual(errorsLogged(s), [])
  })

  test('a query slower than DATABASE_STATEMENT_TIMEOUT_MS (a lock held longer) is a 503 naming the timeout, then 200', async (t) => {
    const { s, url } = await serverOnOwnPostgres(t, { DATABASE_STATEMENT_TIMEOUT_MS: '300' })
    await s.register('alice')
    const lock = await holdLock(t, url, 'users')
    const slow = await call(s, 'POST', '/auth/login', { username: 'alice', password: PASSWORD })
    assertUnavailable(slow, 'login behind the lock')
    assert.match(slow.body.msg, /DATABASE_STATEMENT_TIMEOUT_MS/)
    // /healthz writes another table: the database itself is fine.
    assert.equal((await call(s, 'GET', '/healthz')).status, 200)
    await lock.release()
    assert.equal((await call(s, 'POST', '/auth/login', { username: 'alice', password: PASSWORD })).status, 200)
    assert.deepEqual(errorsLogged(s), [])
  })

  test('nothing acknowledged is lost: registrations racing a kill and a restart are either in the database (201) or not at all (503)', async (t) => {
    t.after(() => pgServer.start())
    const { s, name } = await serverOnOwnPostgres(t)
    const N = 40
    const answers: Answer[] = new Array(N)
    let acknowledged = 0
    let killed: Promise<void> | undefined
    const requests = Array.from({ length: N }, async (_, i) => {
      const answer = await call(s, 'POST', '/auth/register', { username: `user${i}`, password: PASSWORD })
      answers[i] = answer
      // Kill the database as soon as a few have been acknowledged, with the rest in flight.
      if (answer.status === 201 && ++acknowledged === 5) killed = pgServer.kill()
    })
    await Promise.all(requests)
    await killed
    await pgServer.start()

    const statuses = answers.map((a) => a.status)
    assert.ok(statuses.includes(201), 'some were acknowledged before the kill')
    assert.ok(statuses.includes(503), `some were refused after it: ${statuses.join(' ')}`)
    for (const [i, a] of answers.entries()) {
      if (a.status !== 201) assertUnavailable(a, `user${i}`)
    }

    const users = await adminQuery(pgServer, name, 'select id, username from users')
    const sessions = await adminQuery(pgServer, name, 'select user_id from sessions')
    const byName = new Map(users.rows.map((r) => [r.username as string, Number(r.id)]))
    const withSession = new Set(sessions.rows.map((r) => Number(r.user_id)))
    for (const [i, a] of answers.entries()) {
      const id = byName.get(`user${i}`)
      if (a.status === 201) {
        assert.equal(id, a.body.user.id, `user${i} was acknowledged: it is in the database`)
        assert.ok(withSession.has(id!), `user${i} was acknowledged: its session is in the database`)
      } else if (id !== undefined) {
        // A commit whose answer was lost with the connection is allowed; a user without its session is not.
        assert.ok(withSession.has(id), `user${i} was answered 503 and half-exists (a user row without its session)`)
      }
    }
    // Every user acknowledged can log in once the server has recovered, without a restart.
    await until(
      () => call(s, 'GET', '/healthz'),
      (a) => a.status === 200,
    )
    for (const [i, a] of answers.entries())
      if (a.status === 201) assert.equal((await call(s, 'POST', '/auth/login', { username: `user${i}`, password: PASSWORD })).status, 200)
    assert.deepEqual(errorsLogged(s), [])
  })
})
