/**
 * Several Keycard server PROCESSES on one PostgreSQL database, as a deployment runs them: each is a real
 * `keycard serve` child on port 0 with the same JWT_SECRET and cheap argon2, reached over real HTTP,
 * and killed when the test ends. `keycardCli` runs a one-off CLI command as a further process.
 */

import { type ChildProcess, spawn } from 'node:child_process'
import { join, resolve } from 'node:path'
import type { TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import { httpApi, listeningUrl, type Reply, type RequestOptions, tempDir, testEnv } from './helpers.ts'

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)))
const MAIN = join(ROOT, 'packages/server/src/cli/main.ts')
/** How much of a child's output is kept for failure messages. */
const KEEP_OUTPUT = 16_000

export interface Instance {
  /** 'A', 'B', 'C'…: for assertion messages. */
  name: string
  url: string
  api(method: string, path: string, options?: RequestOptions): Promise<Reply>
  /** The last lines the process wrote (logs on stdout, start-up lines on stderr). */
  output(): string
  /** SIGTERM, then SIGKILL if it has not exited within 10 s; resolves once it has exited. */
  stop(): Promise<void>
}

export interface InstancesOptions {
  /** How many processes (default 2). */
  count?: number
  /** The database they share: a postgres:// URL. */
  databaseUrl: string
  /** More environment for every instance (e.g. REFRESH_REUSE_INTERVAL); `undefined` removes a variable. */
  env?: Record<string, string | undefined>
}

/** The environment of a child: this one's PATH and friends, the test defaults, the overrides; nothing of the test runner's. */
function childEnv(dir: string, overrides: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...testEnv(dir, { LOG_LEVEL: 'warn', ...overrides }) }
  for (const name of ['NODE_ENV', 'HOST', 'NODE_TEST_CONTEXT']) if (!(name in overrides)) delete env[name]
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name]
  return env
}

/** Keeps the tail of a child's stdout and stderr. */
function collect(child: ChildProcess): () => string {
  let text = ''
  const add = (d: string) => {
    text = (text + d).slice(-KEEP_OUTPUT)
  }
  child.stdout?.setEncoding('utf8').on('data', add)
  child.stderr?.setEncoding('utf8').on('data', add)
  return () => text
}

/** Resolves once `child` has exited (at once if it already has). */
function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((done) => child.once('exit', () => done()))
}

async function stopChild(child: ChildProcess): Promise<void> {
  const gone = exited(child)
  child.kill('SIGTERM')
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'late'>((done) => {
    timer = setTimeout(() => done('late'), 10_000)
  })
  if ((await Promise.race([gone, late])) === 'late') child.kill('SIGKILL')
  clearTimeout(timer)
  await gone
}

/**
 * Starts `count` `keycard serve` processes on `databaseUrl` at once (they race to migrate it, as a
 * rolling deploy's do) and resolves when every one is listening; each is stopped when the test ends.
 *
 * @example
 * const [a, b] = await startInstances(t, { databaseUrl: await postgresDatabase(t) })
 * await a.api('POST', '/auth/register', { body: { username: 'alice', password: PASSWORD } })
 */
export async function startInstances(t: TestContext, options: InstancesOptions): Promise<Instance[]> {
  const count = options.count ?? 2
  const dir = tempDir(t)
  const env = childEnv(dir, { DATABASE_URL: options.databaseUrl, ...options.env })
  const children: ChildProcess[] = []
  t.after(() => Promise.all(children.map(stopChild)))
  const started = Array.from({ length: count }, async (_, i): Promise<Instance> => {
    const name = String.fromCharCode(65 + i)
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    children.push(child)
    const output = collect(child)
    let url: string
    try {
      url = await listeningUrl(child, 60_000)
    } catch (err) {
      throw new Error(`instance ${name}: ${(err as Error).message}\n${output()}`)
    }
    return { name, url, api: httpApi(url), output, stop: () => stopChild(child) }
  })
  return Promise.all(started)
}

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * Runs `keycard <args>` as its own process against `databaseUrl` (stdin closed, so no prompts).
 *
 * @example
 * const res = await keycardCli(t, url, ['users', 'delete', 'alice', '--yes']) // res.code === 0
 */
export async function keycardCli(
  t: TestContext,
  databaseUrl: string,
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<CliResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd: ROOT,
    env: childEnv(tempDir(t), { DATABASE_URL: databaseUrl, ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d
  })
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
  })
  const code = await new Promise<number | null>((done, fail) => {
    child.once('error', fail)
    child.once('close', (c) => done(c))
  })
  return { code, stdout, stderr }
}

/**
 * Calls `probe` until `done(result)` holds, at most `tries` times with `gapMs` between calls (there is no
 * event to wait on across processes), and returns the last result and how many calls it took.
 *
 * @example
 * const { result } = await pollUntil(() => b.api('GET', '/auth/verify', { token }), (r) => r.status === 401)
 */
export async function pollUntil<T>(
  probe: () => Promise<T>,
  done: (result: T) => boolean,
  { tries = 400, gapMs = 10 }: { tries?: number; gapMs?: number } = {},
): Promise<{ result: T; calls: number }> {
  let result = await probe()
  let calls = 1
  while (!done(result) && calls < tries) {
    await new Promise((next) => setTimeout(next, gapMs))
    result = await probe()
    calls++
  }
  return { result, calls }
}
