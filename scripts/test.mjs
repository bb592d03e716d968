// Runs every *.test.ts under packages/*/test and bench/test with node's test runner (node 20 has no
// glob support in `node --test`). Extra arguments are passed on, e.g. `npm test -- --test-name-pattern=csrf`.
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync, existsSync } from 'node:fs'
import { join } from 'node:path'

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
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...flags, ...files], { stdio: 'inherit' })
process.exit(result.status ?? 1)
