// The suite's second Node: installs Node 22 from the `node` npm package (a binary shipped in a registry
// package, with its headers) and a better-sqlite3 compiled against those headers, once, into
// node_modules/.cache/keycard-node22 (npm ci clears it). Returns what scripts/test.mjs needs to run there.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const NODE22_VERSION = '22.23.3'
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const CACHE = join(ROOT, 'node_modules', '.cache', 'keycard-node22')

function npm(prefix, args, env) {
  mkdirSync(prefix, { recursive: true })
  if (!existsSync(join(prefix, 'package.json'))) writeFileSync(join(prefix, 'package.json'), '{ "private": true }\n')
  const command = ['install', '--no-audit', '--no-fund', '--prefer-offline', '--prefix', prefix, ...args]
  const r = spawnSync('npm', command, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  if (r.status !== 0) throw new Error(`npm install ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`)
}

/** Node 22's binary and headers folder; `npm_config_nodedir` needs the folder holding include/node. */
function installNode() {
  const prefix = join(CACHE, 'node')
  const pkg = join(prefix, 'node_modules', 'node')
  const bin = join(pkg, 'bin', 'node')
  if (!existsSync(bin)) npm(prefix, [`node@${NODE22_VERSION}`], process.env)
  // The `node` package installs the platform's node-<os>-<arch> inside itself; that one has the headers.
  const inner = join(pkg, 'node_modules')
  const platform = readdirSync(inner).find((name) => name.startsWith('node-') && existsSync(join(inner, name, 'include', 'node', 'node.h')))
  if (!platform) throw new Error(`the node@${NODE22_VERSION} package brought no headers (looked in ${inner}/node-*/include/node)`)
  return { bin, nodedir: join(inner, platform) }
}

/** Prepares (or reuses) Node 22 and its better-sqlite3; returns the node binary and the environment for the run. */
export function prepareNode22() {
  const { bin, nodedir } = installNode()
  const version = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'better-sqlite3', 'package.json'), 'utf8')).version
  const prefix = join(CACHE, 'sqlite')
  const entry = join(prefix, 'node_modules', 'better-sqlite3', 'lib', 'index.js')
  const stamp = join(prefix, 'built-for.json')
  const want = JSON.stringify({ node: NODE22_VERSION, 'better-sqlite3': version })
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== want) {
    rmSync(prefix, { recursive: true, force: true })
    process.stderr.write(`building better-sqlite3@${version} for node ${NODE22_VERSION} (once, into ${CACHE})\n`)
    const env = { ...process.env, PATH: `${dirname(bin)}:${process.env.PATH ?? ''}`, npm_config_nodedir: nodedir }
    delete env.NODE_OPTIONS
    npm(prefix, [`better-sqlite3@${version}`], env)
    writeFileSync(stamp, want)
  }
  return {
    bin,
    env: {
      PATH: `${dirname(bin)}:${process.env.PATH ?? ''}`,
      npm_config_nodedir: nodedir,
      KEYCARD_BETTER_SQLITE3: pathToFileURL(entry).href,
      NODE_OPTIONS: `--import=${pathToFileURL(join(ROOT, 'scripts', 'sqlite-hook.mjs')).href}`,
    },
  }
}
