// tsc's rewriteRelativeImportExtensions rewrites `./x.ts` to `./x.js` in the emitted JavaScript but not
// in the declarations, and a consumer's tsc rejects `.ts` specifiers in a .d.ts (TS5097). This rewrites
// them in every .d.ts under the given folder. `.ts` and `.js` have the same length, so the declaration
// maps stay exact.
//   node scripts/dts-extensions.mjs packages/keycard/dist
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** Relative specifiers ending in .ts, in `from '...'`, `import('...')` and `import '...'`. Linear: no nesting. */
const RELATIVE_TS = /((?:from|import)\s*\(?\s*['"])(\.\.?\/[^'"\n]*?)\.ts(['"])/g

export function rewrite(text) {
  return text.replace(RELATIVE_TS, '$1$2.js$3')
}

function walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) walk(path)
    else if (entry.name.endsWith('.d.ts')) {
      const text = readFileSync(path, 'utf8')
      const out = rewrite(text)
      if (out !== text) writeFileSync(path, out)
    }
  }
}

const dir = process.argv[2]
if (dir === undefined) {
  console.error('usage: node scripts/dts-extensions.mjs <dist folder>')
  process.exit(2)
}
walk(dir)
