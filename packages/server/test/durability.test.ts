/**
 * kill -9 durability: a real `keycard serve` child takes concurrent bursts of registrations, logins and
 * logouts; every acknowledged (2xx) answer is recorded, and after a random number of acknowledgements
 * (not a timer) the process is killed with SIGKILL, in the middle of whatever it was doing. It is
 * restarted on the same data (SQLite file, PostgreSQL database), and every acknowledged write must be
 * there: each registered user signs in with their password, each logged-out token is refused as
 * revoked, each acknowledged session with no logout attempted still works. A few rounds, each
 * restart checking everything acknowledged so far. Randomness is seeded (KEYCARD_DURABILITY_SEED
 * replays a run); the seed is in every failure message.
 */

import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { join, resolve } from 'node:path'
import { test, type TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import { dataDir, type Dialect, forEachDialect, httpApi, listeningUrl, PASSWORD, type Reply, testEnv } from './helpers.ts'

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)))
const MAIN = join(ROOT, 'packages/server/src/cli/main.ts')
const WORKERS = 6
const REVOKED = { msg: 'Token has been revoked', code: 'KEYCARD_TOKEN_REVOKED' }

/** mulberry32: a small seeded generator, so a failing run can be replayed from its seed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), a | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

interface Server {
  child: ChildProcess
  api: ReturnType<typeof httpApi>
  exited: Promise<void>
}

/** `keycard serve` on the data of `dir` (its SQLite file or PostgreSQL database); SIGKILLed when the test ends if still running. */
async function serve(t: TestContext, dir: string): Promise<Server> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...testEnv(dir, { LOG_LEVEL: 'warn', TRUST_PROXY: 'true' }) }
  for (const name of ['NODE_ENV', 'HOST', 'NODE_TEST_CONTEXT']) delete env[name]
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] })
  const exited = new Promise<void>((done) => child.once('exit', () => done()))
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  })
  return { child, api: httpApi(await listeningUrl(child, 60_000)), exited }
}

/** What the clients were told, across rounds. */
interface Acknowledged {
  /** Registered users (the password is always PASSWORD). */
  users: string[]
  /** Access tokens of acknowledged sign-ins (register or login) on which no logout was attempted. */
  live: Map<string, string>
  /** Access tokens whose logout was acknowledged, with their user. */
  loggedOut: Map<string, string>
}

let addresses = 0
/** A new client address per request (TRUST_PROXY=true), so per-address throttling never refuses the burst. */
const address = () => ({ 'x-forwarded-for': `10.${(++addresses >> 16) & 255}.${(addresses >> 8) & 255}.${addresses & 255}` })

/**
 * Concurrent workers send registrations, logins and logouts; the server is SIGKILLed right after the
 * `killAt`-th acknowledgement. A request whose answer never came is left out: it may or may not have
 * happened. Resolves once the process is gone and every worker has stopped.
 */
async function burst(server: Server, ack: Acknowledged, random: () => number, killAt: number, tag: string): Promise<number> {
  let acks = 0
  let dead = false
  let next = 0
  const acknowledged = (res: Reply) => {
    if (res.status < 200 || res.status >= 300) return false
    if (++acks === killAt) {
      dead = true
      server.child.kill('SIGKILL')
    }
    return true
  }
  const step = async () => {
    const choice = random()
    const live = [...ack.live]
    if (ack.users.length === 0 || choice < 0.4) {
      const username = `${tag}-${next++}`
      const res = await server.api('POST', '/auth/register', { body: { username, password: PASSWORD }, headers: address() })
      if (acknowledged(res)) {
        ack.users.push(username)
        ack.live.set(res.body.access_token, username)
      } else assert.equal(res.status, 201, `register ${username}: ${res.text}`)
    } else if (live.length > 0 && choice < 0.7) {
      const [token, username] = live[Math.floor(random() * live.length)]!
      // Attempted: from now on its outcome is only known if the answer comes.
      ack.live.delete(token)
      const res = await server.api('POST', '/auth/logout', { token, headers: address() })
      if (acknowledged(res)) ack.loggedOut.set(token, username)
      else assert.equal(res.status, 200, `logout of ${username}: ${res.text}`)
    } else {
      const username = ack.users[Math.floor(random() * ack.users.length)]!
      const res = await server.api('POST', '/auth/login', { body: { username, password: PASSWORD }, headers: address() })
      if (acknowledged(res)) ack.live.set(res.body.access_token, username)
      else assert.equal(res.status, 200, `login ${username}: ${res.text}`)
    }
  }
  const worker = async () => {
    while (!dead) {
      try {
        await step()
      } catch (err) {
        // The connection failing is the kill; anything else is a wrong answer.
        if (!dead || err instanceof assert.AssertionError) throw err
      }
    }
  }
  await Promise.all(Array.from({ length: WORKERS }, worker))
  await server.exited
  return acks
}

/** Every acknowledged write, checked on a restarted server. */
async function checkAcknowledged(server: Server, ack: Acknowledged, context: string): Promise<void> {
  for (const username of ack.users) {
    const res = await server.api('POST', '/auth/login', { body: { username, password: PASSWORD }, headers: address() })
    assert.equal(res.status, 200, `${context}: the acknowledged registration of ${username} is lost: ${res.text}`)
  }
  for (const [token, username] of ack.loggedOut) {
    const res = await server.api('GET', '/auth/me', { token })
    assert.equal(res.status, 401, `${context}: the acknowledged logout of a session of ${username} does not hold: ${res.text}`)
    assert.deepEqual(res.body, REVOKED, context)
  }
  for (const [token, username] of ack.live) {
    const res = await server.api('GET', '/auth/me', { token })
    assert.equal(res.status, 200, `${context}: the acknowledged sign-in of ${username} is lost: ${res.text}`)
    assert.equal(res.body.username, username, context)
  }
}

forEachDialect((dialect: Dialect) => {
  const ROUNDS = dialect === 'sqlite' ? 3 : 2

  test('kill -9 mid-burst: every acknowledged registration, sign-in and logout survives the restart', async (t) => {
    const seed = Number(process.env.KEYCARD_DURABILITY_SEED ?? Math.floor(Math.random() * 2 ** 31))
    const random = seeded(seed)
    const dir = await dataDir(t, dialect)
    const ack: Acknowledged = { users: [], live: new Map(), loggedOut: new Map() }
    let server = await serve(t, dir)
    for (let round = 1; round <= ROUNDS; round++) {
      const killAt = 20 + Math.floor(random() * 60)
      const acks = await burst(server, ack, random, killAt, `r${round}`)
      t.diagnostic(`round ${round}: killed after acknowledgement ${killAt} (${acks} acknowledged in all)`)
      assert.equal(server.child.signalCode, 'SIGKILL', 'the server died of the kill, not before it')
      server = await serve(t, dir)
      await checkAcknowledged(server, ack, `seed ${seed} (KEYCARD_DURABILITY_SEED=${seed}), after the kill of round ${round}`)
    }
    assert.ok(ack.users.length > 0 && ack.loggedOut.size > 0 && ack.live.size > 0, `seed ${seed}: the bursts did each kind of write`)
  })
})
