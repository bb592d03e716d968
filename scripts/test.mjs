// Runs every *.test.ts under packages/*/test and bench/test with node's test runner (node 20 has no
// glob support in `node --test`), on this node and then on Node 22 (scripts/node22.mjs). Extra
// arguments are passed on, e.g. `npm test -- --test-name-pattern=csrf`.
//
// One throwaway PostgreSQL server (scripts/test-postgres.ts) serves the whole run, on both Nodes: its
// admin URL goes to the test processes in KEYCARD_TEST_POSTGRES_URL, and each test makes a database of
// its own on it. It is stopped at the end. A missing postgresql or redis-server fails the run (never a skip).
import { spawn, spawnSync } from 'node:child_process'
import { readdirSync, statSync, existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { NODE22_VERSION, prepareNode22 } from './node22.mjs'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

function find(dir, out = []) {
  if (!existsSync(dir)) return out
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (name === 'node_modules' || name === 'fixtures') continue
    if (statSync(path).isDirectory()) find(path, out)
    else if (name.endsWith('.test.ts')) out.push(path)
  }
  return out
}

const args = process.argv.slice(2)
const only = args.filter((a) => !a.startsWith('-'))
const flags = args.filter((a) => a.startsWith('-'))
const roots = ['packages/keycard/test', 'packages/server/test', 'bench/test']
const files = only.length ? only : roots.flatMap((root) => find(root)).sort()
if (files.length === 0) {
  console.error('no test files found')
  process.exit(1)
}
// The consumer test (package.test.ts) packs and installs, compiling better-sqlite3: it runs after the
// rest, alone, so its compile does not starve the tests that hold a short-lived token (the browser's).
const isPackaging = (file) => file.endsWith('package.test.ts')
const groups = [files.filter((f) => !isPackaging(f)), files.filter(isPackaging)].filter((group) => group.length > 0)

/** Starts scripts/test-postgres.ts and resolves to `{ url, stop }` once its server accepts connections. */
function startSharedPostgres() {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'test-postgres.ts')], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM')
      await exited
    }
  }
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout })
    lines.once('line', (line) => {
      if (line.startsWith('ready ')) resolve({ url: line.slice('ready '.length), stop })
      else reject(new Error(line.replace(/^error /, '')))
    })
    exited.then((code) => reject(new Error(`the test PostgreSQL helper exited (${code}) before its server was ready`)))
  })
}

let postgres
try {
  postgres = await startSharedPostgres()
} catch (err) {
  console.error(`cannot run the tests: ${err.message}`)
  process.exit(1)
}

function runSuite(node, extraEnv) {
  const options = [process.env.NODE_OPTIONS, extraEnv.NODE_OPTIONS].filter(Boolean).join(' ')
  const env = {
    ...process.env,
    ...extraEnv,
    KEYCARD_TEST_POSTGRES_URL: postgres.url,
    ...(options ? { NODE_OPTIONS: options } : {}),
  }
  let status = 0
  for (const group of groups) {
    const result = spawnSync(node, ['--import', 'tsx', '--test', '--test-concurrency=2', ...flags, ...group], { stdio: 'inherit', env })
    status = (result.status ?? 1) || status
  }
  return status
}

let status = 1
try {
  status = runSuite(process.execPath, {})
  // Then again on Node 22 (the `node` npm package), unless this is Node 22 already. KEYCARD_TEST_NODE22=skip
  // leaves it out for a quick local run; CI and `npm test` run both.
  if (process.versions.node.split('.')[0] !== '22' && process.env.KEYCARD_TEST_NODE22 !== 'skip') {
    const node22 = prepareNode22()
    console.log(`\n# the same suite on node ${NODE22_VERSION} (${node22.bin})`)
    status = runSuite(node22.bin, node22.env) || status
  }
} finally {
  await postgres.stop()
}
process.exit(status)
