// Runs every *.test.ts under packages/*/test and bench/test with node's test runner (node 20 has no
// glob support in `node --test`), on this node and then on Node 22 (scripts/node22.mjs). Extra
// arguments are passed on, e.g. `npm test -- --test-name-pattern=csrf`.
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { NODE22_VERSION, prepareNode22 } from './node22.mjs'

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

function runSuite(node, extraEnv) {
  const options = [process.env.NODE_OPTIONS, extraEnv.NODE_OPTIONS].filter(Boolean).join(' ')
  const env = { ...process.env, ...extraEnv, ...(options ? { NODE_OPTIONS: options } : {}) }
  let status = 0
  for (const group of groups) {
    const result = spawnSync(node, ['--import', 'tsx', '--test', '--test-concurrency=2', ...flags, ...group], { stdio: 'inherit', env })
    status = (result.status ?? 1) || status
  }
  return status
}

let status = runSuite(process.execPath, {})
// Then again on Node 22 (the `node` npm package), unless this is Node 22 already. KEYCARD_TEST_NODE22=skip
// leaves it out for a quick local run; CI and `npm test` run both.
if (process.versions.node.split('.')[0] !== '22' && process.env.KEYCARD_TEST_NODE22 !== 'skip') {
  const node22 = prepareNode22()
  console.log(`\n# the same suite on node ${NODE22_VERSION} (${node22.bin})`)
  status = runSuite(node22.bin, node22.env) || status
}
process.exit(status)
