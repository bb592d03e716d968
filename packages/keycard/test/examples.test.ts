// Boots each example app as its own process and runs its README flow, so the quick starts cannot rot.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

const SECRET = 'an-example-secret-of-at-least-32-bytes!'

async function startExample(t: import('node:test').TestContext, name: string): Promise<string> {
  const file = fileURLToPath(new URL(`../examples/${name}.ts`, import.meta.url))
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    env: { ...process.env, JWT_SECRET: SECRET, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.after(() => child.kill())
  let out = ''
  let err = ''
  child.stderr.on('data', (d) => (err += d))
  for await (const chunk of child.stdout) {
    out += chunk
    const url = /http:\/\/127\.0\.0\.1:\d+/.exec(out)
    if (url) return url[0]
  }
  await once(child, 'exit')
  throw new Error(`example ${name} exited before listening: ${err}`)
}

const post = (url: string, body?: unknown, token?: string, method = 'POST') =>
  fetch(url, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  })

test('the Fastify example logs in, reads a protected route, refreshes and logs out', async (t) => {
  const url = await startExample(t, 'fastify')
  assert.deepEqual(await (await fetch(`${url}/protected`)).json(), { msg: 'Missing Authorization Header' })
  const tokens = (await (await post(`${url}/login`, { username: 'alice' })).json()) as { access_token: string; refresh_token: string }
  const me = await fetch(`${url}/protected`, { headers: { authorization: `Bearer ${tokens.access_token}` } })
  assert.deepEqual(await me.json(), { logged_in_as: 'alice' })
  const refreshed = await post(`${url}/refresh`, undefined, tokens.refresh_token)
  assert.equal(refreshed.status, 200)
  assert.equal(typeof ((await refreshed.json()) as { access_token: unknown }).access_token, 'string')
  assert.deepEqual(await (await post(`${url}/logout`, undefined, tokens.access_token, 'DELETE')).json(), { msg: 'Token revoked' })
  const after = await fetch(`${url}/protected`, { headers: { authorization: `Bearer ${tokens.access_token}` } })
  assert.equal(after.status, 401)
  assert.deepEqual(await after.json(), { msg: 'Token has been revoked' })
})

test('the Express example logs in and guards fresh-only routes', async (t) => {
  const url = await startExample(t, 'express')
  const { access_token } = (await (await post(`${url}/login`, { username: 'bob' })).json()) as { access_token: string }
  const me = await fetch(`${url}/protected`, { headers: { authorization: `Bearer ${access_token}` } })
  assert.deepEqual(await me.json(), { logged_in_as: 'bob' })
  const settings = await fetch(`${url}/settings`, { headers: { authorization: `Bearer ${access_token}` } })
  assert.equal(settings.status, 200)
  assert.equal(((await settings.json()) as { claims: { fresh: unknown } }).claims.fresh, true)
  const bad = await fetch(`${url}/protected`, { headers: { authorization: 'Bearer not.a.token' } })
  assert.equal(bad.status, 422)
})

test('the Hono example logs in with a cookie, reads c.get("jwt") from the header and the cookie, and logs out', async (t) => {
  const url = await startExample(t, 'hono')
  const login = await post(`${url}/login`, { username: 'carol' })
  const cookies = login.headers.getSetCookie().map((line) => line.split(';', 1)[0]!)
  assert.deepEqual(
    cookies.map((c) => c.split('=', 1)[0]),
    ['access_token_cookie', 'csrf_access_token'],
  )
  const { access_token } = (await login.json()) as { access_token: string }
  const byHeader = await fetch(`${url}/protected`, { headers: { authorization: `Bearer ${access_token}` } })
  assert.deepEqual(await byHeader.json(), { logged_in_as: 'carol' })
  const byCookie = await fetch(`${url}/protected`, { headers: { cookie: cookies.join('; ') } })
  assert.deepEqual(await byCookie.json(), { logged_in_as: 'carol' })
  const logout = await post(`${url}/logout`)
  assert.deepEqual(
    logout.headers.getSetCookie().map((line) => line.split(';', 1)[0]),
    ['access_token_cookie=', 'csrf_access_token=', 'refresh_token_cookie=', 'csrf_refresh_token='],
  )
})
