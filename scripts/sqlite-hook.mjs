// Loaded with `--import` in the test suite's run on the second Node (scripts/node22.mjs): resolves
// `better-sqlite3` to a copy built for that Node's ABI, because the workspace's copy is compiled for
// the Node that ran `npm ci` and a native addon loads only under the ABI it was built for.
// KEYCARD_BETTER_SQLITE3 is the file URL of that copy's entry.
import { register } from 'node:module'

const target = process.env.KEYCARD_BETTER_SQLITE3
if (!target) throw new Error('sqlite-hook.mjs: KEYCARD_BETTER_SQLITE3 is not set (scripts/test.mjs sets it)')
const hooks = `export async function resolve(specifier, context, next) {
  return next(specifier === 'better-sqlite3' ? ${JSON.stringify(target)} : specifier, context)
}`
register(`data:text/javascript,${encodeURIComponent(hooks)}`)
