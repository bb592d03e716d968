// Publishes a package.json without the workspace-only "keycard-source" export condition (which points
// at TypeScript that the tarball does not carry), and puts the workspace's manifest back afterwards.
//   node ../../scripts/manifest.mjs strip     # prepack: keeps the original as .package.json.workspace
//   node ../../scripts/manifest.mjs restore   # postpack
// If a pack dies between the two, the next `strip` restores first, and `git checkout package.json` always does.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'

export const CONDITION = 'keycard-source'
const MANIFEST = 'package.json'
const BACKUP = '.package.json.workspace'

/** Returns `exports` with the workspace condition removed at every level. */
export function withoutSourceCondition(value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value
  return Object.fromEntries(Object.entries(value).filter(([key]) => key !== CONDITION).map(([key, v]) => [key, withoutSourceCondition(v)]))
}

function restore() {
  if (existsSync(BACKUP)) renameSync(BACKUP, MANIFEST)
}

const command = process.argv[2]
if (command === 'strip') {
  restore()
  const text = readFileSync(MANIFEST, 'utf8')
  const manifest = JSON.parse(text)
  writeFileSync(BACKUP, text)
  manifest.exports = withoutSourceCondition(manifest.exports)
  writeFileSync(MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`)
} else if (command === 'restore') {
  restore()
} else if (command !== undefined) {
  console.error(`manifest.mjs: unknown command "${command}" (use strip or restore)`)
  process.exit(2)
}
