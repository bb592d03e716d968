/**
 * What we publish is what we test: packs `keycard` and `keycard-server` (their prepack scripts build
 * them), lints the tarballs (publint --strict, @arethetypeswrong/cli), installs both into one project
 * under os.tmpdir(), outside the workspace, and uses them there as a user would: the README quick starts
 * under plain node, a strict TypeScript consumer under `module: nodenext` and `moduleResolution: bundler`,
 * and `npx keycard --help` / `npx keycard serve`. It also checks that `engines` is true of the installed
 * dependency tree. One install per run: installing keycard-server compiles better-sqlite3 for this node.
 */

import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { transformSync } from 'esbuild'
import semver from 'semver'
import { listeningUrl, testEnv } from './helpers.ts'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const BIN = join(ROOT, 'node_modules', '.bin')
const EXAMPLES = join(ROOT, 'packages', 'keycard', 'examples')
const SECRET = 'an-example-secret-of-at-least-32-bytes!'

/** The environment of every child: this node first on PATH (npm builds native addons for it), no workspace preloads. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, ...extra }
  for (const name of ['NODE_OPTIONS', 'NODE_TEST_CONTEXT', 'INIT_CWD', 'npm_config_prefix']) delete env[name]
  for (const name of Object.keys(env)) if (name.startsWith('npm_package_') || name.startsWith('npm_lifecycle_')) delete env[name]
  return env
}

function run(command: string, args: string[], cwd: string, extra: Record<string, string> = {}): SpawnSyncReturns<string> {
  const r = spawnSync(command, args, { cwd, env: cleanEnv(extra), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  assert.equal(r.status, 0, `${command} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`)
  return r
}

let work = ''
let project = ''
const tarballs: Record<'keycard' | 'keycard-server', string> = { keycard: '', 'keycard-server': '' }

before(() => {
  work = mkdtempSync(join(tmpdir(), 'keycard-consumer-'))
  const packs = join(work, 'tarballs')
  mkdirSync(packs)
  run('npm', ['pack', '--silent', '-w', 'keycard', '-w', 'keycard-server', '--pack-destination', packs], ROOT)
  for (const file of readdirSync(packs)) {
    if (file.startsWith('keycard-server-')) tarballs['keycard-server'] = join(packs, file)
    else if (file.startsWith('keycard-')) tarballs.keycard = join(packs, file)
  }
  assert.ok(tarballs.keycard && tarballs['keycard-server'], `npm pack made ${readdirSync(packs).join(', ')}`)

  project = join(work, 'consumer')
  mkdirSync(project)
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2))
  // First what `npm install keycard-server` (and keycard) gives, then the consumer's own frameworks and
  // tools, which reuse what is already there (the engines test reads the tree the first install made).
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarballs.keycard, tarballs['keycard-server']], project)
  const deps = ['fastify@5', 'express@5', '@types/express@5', 'hono@4', '@hono/node-server@2', 'typescript@5.9', '@types/node']
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...deps], project)
})

after(() => {
  if (work) rmSync(work, { recursive: true, force: true })
})

function listing(tarball: string): string[] {
  return run('tar', ['tzf', tarball], work).stdout.trim().split('\n')
}

describe('the tarballs', () => {
  test('keycard ships compiled JavaScript, declarations, README and LICENSE; no source, tests, keys or tsconfig', () => {
    const files = listing(tarballs.keycard)
    const expected = [
      'package.json',
      'README.md',
      'LICENSE',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/index.d.ts.map',
      'dist/adapters/express.js',
      'dist/adapters/fastify.d.ts',
      'dist/adapters/hono.js',
      'dist/adapters/hono.d.ts',
    ]
    for (const file of expected.map((f) => `package/${f}`)) {
      assert.ok(files.includes(file), `${file} is missing`)
    }
    const unexpected = files.filter((f) => !/^package\/(package\.json|README\.md|LICENSE|dist\/.+\.(js|d\.ts|d\.ts\.map))$/.test(f))
    assert.deepEqual(unexpected, [])
    const manifest = JSON.parse(run('tar', ['xzf', tarballs.keycard, '-O', 'package/package.json'], work).stdout)
    assert.doesNotMatch(JSON.stringify(manifest.exports), /(?<!\.d)\.ts"/, 'no published export may point at TypeScript source')
    assert.equal(manifest.publishConfig, undefined)
  })

  test('keycard-server ships its bin, the compiled CLI and the account page; no TypeScript', () => {
    const files = listing(tarballs['keycard-server'])
    for (const file of [
      'package/bin/keycard.js',
      'package/dist/cli/main.mjs',
      'package/web/dist/index.html',
      'package/LICENSE',
      'package/README.md',
    ]) {
      assert.ok(files.includes(file), `${file} is missing`)
    }
    assert.ok(
      files.some((f) => f.startsWith('package/web/dist/assets/')),
      'the account page assets are missing',
    )
    assert.deepEqual(
      files.filter((f) => f.endsWith('.ts') || f.includes('/test/') || f.includes('/src/')),
      [],
    )
    const manifest = JSON.parse(run('tar', ['xzf', tarballs['keycard-server'], '-O', 'package/package.json'], work).stdout)
    assert.equal(manifest.private, undefined)
    for (const dev of ['tsx', 'esbuild', 'keycard'])
      assert.equal(manifest.dependencies[dev], undefined, `${dev} must not be a runtime dependency`)
  })

  for (const name of ['keycard', 'keycard-server'] as const) {
    test(`publint --strict passes on ${name}`, () => {
      const r = run(join(BIN, 'publint'), ['--strict', tarballs[name]], work)
      assert.match(r.stdout, /All good/, r.stdout)
    })
  }

  test('@arethetypeswrong/cli finds no problem in keycard (ESM-only: the CJS and node10 rows are not ours)', () => {
    const r = run(join(BIN, 'attw'), [tarballs.keycard, '--profile', 'esm-only', '--format', 'ascii'], work)
    assert.match(r.stdout, /"keycard\/express"[\s\S]*node16 \(from ESM\): 🟢/, r.stdout)
    assert.match(r.stdout, /"keycard\/hono"[\s\S]*node16 \(from ESM\): 🟢/, r.stdout)
  })

  test('@arethetypeswrong/cli on keycard-server: a CLI, nothing to import, so no types to be wrong', () => {
    const r = run(join(BIN, 'attw'), [tarballs['keycard-server'], '--profile', 'esm-only', '--format', 'ascii'], work)
    assert.match(r.stdout, /does not contain types/)
  })
})

/**
 * Every package reached from `name` through `dependencies`, `optionalDependencies` and installed peers,
 * found by node's lookup from the project. `name`'s own peers (keycard's frameworks, the user's choice)
 * count themselves but not their trees.
 */
function runtimeTree(name: string): Map<string, { dir: string; manifest: any }> {
  const seen = new Map<string, { dir: string; manifest: any }>()
  const visit = (from: string, dep: string, shallow = false) => {
    for (let dir = from; ; dir = dirname(dir)) {
      const candidate = join(dir, 'node_modules', dep)
      if (existsSync(join(candidate, 'package.json'))) {
        if (seen.has(candidate)) return
        const manifest = JSON.parse(readFileSync(join(candidate, 'package.json'), 'utf8'))
        seen.set(candidate, { dir: candidate, manifest })
        if (shallow) return
        for (const next of [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.optionalDependencies ?? {})])
          visit(candidate, next)
        for (const peer of Object.keys(manifest.peerDependencies ?? {})) visit(candidate, peer, dep === name)
        return
      }
      if (dir === project || dir === dirname(dir)) return // not installed (an optional dependency or peer for another platform)
    }
  }
  visit(project, name)
  return seen
}

describe('engines is true', () => {
  for (const name of ['keycard', 'keycard-server']) {
    test(`every runtime dependency of ${name} supports its whole engines.node range`, () => {
      const tree = runtimeTree(name)
      const declared = tree.values().next().value!.manifest.engines.node as string
      assert.ok(semver.validRange(declared), `${name} declares engines.node ${declared}`)
      const violations: string[] = []
      for (const { manifest } of tree.values()) {
        const range = manifest.engines?.node
        if (range && !semver.subset(declared, range)) violations.push(`${manifest.name}@${manifest.version} wants node ${range}`)
      }
      assert.ok(tree.size > 3, `walked ${tree.size} packages`)
      assert.deepEqual(violations, [], `${name} says node ${declared}`)
      assert.ok(semver.satisfies(process.versions.node, declared), `this node (${process.version}) is outside ${declared}`)
    })
  }
})

/** npx runs the bin in a child of its own: the whole process group goes. */
function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL')
  } catch {
    // already gone
  }
}

/** Starts `command` in the project and resolves with the URL it prints (stdout or stderr); kills it when the test ends. */
async function serve(t: import('node:test').TestContext, command: string, args: string[], env: Record<string, string>): Promise<string> {
  const child = spawn(command, args, { cwd: project, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  t.after(() => killGroup(child))
  let out = ''
  const found = new Promise<string>((resolve, reject) => {
    const scan = (d: Buffer) => {
      out += d
      const url = /http:\/\/127\.0\.0\.1:\d+/.exec(out)
      if (url) resolve(url[0])
    }
    child.stdout.on('data', scan)
    child.stderr.on('data', scan)
    child.once('exit', (code) => reject(new Error(`${command} ${args.join(' ')} exited (${code}) before listening:\n${out}`)))
  })
  return found
}

async function json(response: Response): Promise<any> {
  return response.json()
}

/** The Fastify quick start's flow: login, protected route, logout, revoked. */
async function fastifyFlow(url: string): Promise<void> {
  assert.deepEqual(await json(await fetch(`${url}/protected`)), { msg: 'Missing Authorization Header' })
  const login = await json(
    await fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":"alice"}' }),
  )
  const auth = { authorization: `Bearer ${login.access_token}` }
  assert.deepEqual(await json(await fetch(`${url}/protected`, { headers: auth })), { logged_in_as: 'alice' })
  assert.deepEqual(await json(await fetch(`${url}/logout`, { method: 'DELETE', headers: auth })), { msg: 'Token revoked' })
  assert.deepEqual(await json(await fetch(`${url}/protected`, { headers: auth })), { msg: 'Token has been revoked' })
}

/** The Express quick start's flow: login, protected route, a fresh-only route, a malformed token. */
async function expressFlow(url: string): Promise<void> {
  const login = await json(
    await fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":"bob"}' }),
  )
  const auth = { authorization: `Bearer ${login.access_token}` }
  assert.deepEqual(await json(await fetch(`${url}/protected`, { headers: auth })), { logged_in_as: 'bob' })
  assert.equal((await json(await fetch(`${url}/settings`, { headers: auth }))).claims.fresh, true)
  assert.equal((await fetch(`${url}/protected`, { headers: { authorization: 'Bearer not.a.token' } })).status, 422)
}

/** The Hono quick start's flow: cookie login, c.get('jwt') by header and by cookie, logout unsets the cookies. */
async function honoFlow(url: string): Promise<void> {
  const login = await fetch(`${url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"username":"carol"}',
  })
  const cookies = login.headers.getSetCookie().map((line) => line.split(';', 1)[0]!)
  const auth = { authorization: `Bearer ${(await json(login)).access_token}` }
  assert.deepEqual(await json(await fetch(`${url}/protected`, { headers: auth })), { logged_in_as: 'carol' })
  assert.deepEqual(await json(await fetch(`${url}/protected`, { headers: { cookie: cookies.join('; ') } })), { logged_in_as: 'carol' })
  const logout = await fetch(`${url}/logout`, { method: 'POST' })
  assert.equal(logout.headers.getSetCookie().length, 4)
}

const flows = { fastify: fastifyFlow, express: expressFlow, hono: honoFlow }
const ADAPTERS = ['fastify', 'express', 'hono'] as const

describe('a plain node ESM consumer', () => {
  for (const name of ADAPTERS) {
    test(`runs the ${name} quick start from the installed keycard`, async (t) => {
      const source = readFileSync(join(EXAMPLES, `${name}.ts`), 'utf8')
      const file = join(project, `${name}.mjs`)
      writeFileSync(file, transformSync(source, { loader: 'ts', format: 'esm' }).code)
      await flows[name](await serve(t, process.execPath, [file], { JWT_SECRET: SECRET, PORT: '0' }))
    })
  }

  test('require("keycard") works where node supports require(esm)', (t) => {
    if (!(process.features as { require_module?: boolean }).require_module) {
      t.diagnostic(`node ${process.version} has no require(esm); the README says so`)
      assert.equal(spawnSync(process.execPath, ['-e', 'require("keycard")'], { cwd: project, env: cleanEnv() }).status, 1)
      return
    }
    const script =
      'const k = require("keycard"); const f = require("keycard/fastify"); const e = require("keycard/express"); const h = require("keycard/hono"); ' +
      'console.log(typeof k.createKeycard, typeof f.fastifyKeycard, typeof e.expressKeycard, typeof h.honoKeycard, require("keycard/package.json").name)'
    const r = run(process.execPath, ['-e', script], project)
    assert.equal(r.stdout.trim(), 'function function function function keycard')
  })
})

describe('a strict TypeScript consumer', () => {
  const configs = {
    nodenext: { module: 'nodenext', moduleResolution: 'nodenext' },
    bundler: { module: 'esnext', moduleResolution: 'bundler' },
  }
  for (const [kind, resolution] of Object.entries(configs)) {
    test(`compiles with zero errors under moduleResolution ${kind} (no skipLibCheck) and runs`, async (t) => {
      const dir = join(project, `ts-${kind}`)
      mkdirSync(join(dir, 'src'), { recursive: true })
      for (const name of ADAPTERS) cpSync(join(EXAMPLES, `${name}.ts`), join(dir, 'src', `${name}.ts`))
      // What `tsc --init` writes today, plus the resolution under test; skipLibCheck off so keycard's .d.ts are checked.
      const compilerOptions = {
        ...resolution,
        target: 'esnext',
        types: ['node'],
        strict: true,
        noUncheckedIndexedAccess: true,
        exactOptionalPropertyTypes: true,
        verbatimModuleSyntax: true,
        isolatedModules: true,
        noUncheckedSideEffectImports: true,
        moduleDetection: 'force',
        skipLibCheck: false,
        rootDir: 'src',
        outDir: 'out',
      }
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['src'] }, null, 2))
      const tscBin = join(project, 'node_modules', 'typescript', 'bin', 'tsc')
      const tsc = spawnSync(process.execPath, [tscBin, '-p', dir], { cwd: dir, env: cleanEnv(), encoding: 'utf8' })
      assert.equal(tsc.status, 0, `tsc reported:\n${tsc.stdout}${tsc.stderr}`)
      for (const name of ADAPTERS) {
        await flows[name](await serve(t, process.execPath, [join(dir, 'out', `${name}.js`)], { JWT_SECRET: SECRET, PORT: '0' }))
      }
    })
  }
})

describe('the installed keycard-server', () => {
  test('npx keycard --help prints the usage', () => {
    const r = run('npx', ['--no-install', 'keycard', '--help'], project)
    assert.match(r.stdout, /^Usage: keycard <command>/)
  })

  test('npx keycard serve answers /healthz and serves the account page from its installed location', async (t) => {
    const data = mkdtempSync(join(work, 'data-'))
    const env = Object.fromEntries(Object.entries(testEnv(data)).filter((e): e is [string, string] => e[1] !== undefined))
    const args = ['--no-install', 'keycard', 'serve', '--port', '0']
    const child = spawn('npx', args, { cwd: project, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    t.after(() => killGroup(child))
    const url = await listeningUrl(child, 60_000)
    assert.equal((await fetch(`${url}/healthz`)).status, 200)
    const page = await fetch(`${url}/`)
    assert.equal(page.status, 200)
    assert.match(await page.text(), /<script[^>]+src="\/assets\//)
  })
})

describe('keycard-server installed globally', () => {
  test('npm install -g puts a keycard on PATH that serves from any directory', async (t) => {
    // A prefix of its own stands for the machine's global one: the same layout, nothing outside the temp dir.
    const prefix = join(work, 'global')
    run('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', tarballs['keycard-server']], work)
    const bin = join(prefix, 'bin', 'keycard')
    assert.ok(existsSync(bin), `npm install -g made no ${bin}`)
    const elsewhere = mkdtempSync(join(work, 'elsewhere-'))
    assert.match(run(bin, ['--help'], elsewhere).stdout, /^Usage: keycard <command>/)

    const data = mkdtempSync(join(work, 'global-data-'))
    const env = Object.fromEntries(Object.entries(testEnv(data)).filter((e): e is [string, string] => e[1] !== undefined))
    const child = spawn(bin, ['serve', '--port', '0'], {
      cwd: elsewhere,
      env: cleanEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    t.after(() => killGroup(child))
    const url = await listeningUrl(child, 60_000)
    assert.equal((await fetch(`${url}/healthz`)).status, 200)
    assert.match(await (await fetch(`${url}/`)).text(), /<script[^>]+src="\/assets\//)
  })
})
