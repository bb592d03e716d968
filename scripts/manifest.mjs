// The workspace's package.json points keycard's exports at its TypeScript source (so tsx, tsc and
// esbuild in the workspace use src with no flag); the published one points them at dist. As pnpm does,
// `publishConfig.exports` and `publishConfig.types` replace the top-level fields in the packed manifest.
//   node ../../scripts/manifest.mjs strip     # prepack: keeps the original as .package.json.workspace
//   node ../../scripts/manifest.mjs restore   # postpack
// If a pack dies between the two, the next `strip` restores first, and `git checkout package.json` always does.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'

const MANIFEST = 'package.json'
const BACKUP = '.package.json.workspace'
const FIELDS = ['exports', 'types']

/** The manifest to publish: `publishConfig`'s fields moved to the top level, in their place. */
export function publishedManifest(manifest) {
  const { publishConfig = {}, ...rest } = manifest
  const published = (key, value) => (FIELDS.includes(key) && key in publishConfig ? publishConfig[key] : value)
  const out = Object.fromEntries(Object.entries(rest).map(([key, value]) => [key, published(key, value)]))
  for (const key of FIELDS) if (key in publishConfig && !(key in out)) out[key] = publishConfig[key]
  const remaining = Object.fromEntries(Object.entries(publishConfig).filter(([key]) => !FIELDS.includes(key)))
  if (Object.keys(remaining).length > 0) out.publishConfig = remaining
  return out
}

function restore() {
  if (existsSync(BACKUP)) renameSync(BACKUP, MANIFEST)
}

const command = process.argv[2]
if (command === 'strip') {
  restore()
  const text = readFileSync(MANIFEST, 'utf8')
  writeFileSync(BACKUP, text)
  writeFileSync(MANIFEST, `${JSON.stringify(publishedManifest(JSON.parse(text)), null, 2)}\n`)
} else if (command === 'restore') {
  restore()
} else if (command !== undefined) {
  console.error(`manifest.mjs: unknown command "${command}" (use strip or restore)`)
  process.exit(2)
}
