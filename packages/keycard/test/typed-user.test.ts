/**
 * The `KeycardTypes` extension point: test/typed-user/app.ts declares a user and claims once and
 * checks, at compile time, that all three adapters' contexts and request decorations carry them.
 * It is compiled here as its own project (its augmentation would leak into the other tests' types).
 */

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'

const project = fileURLToPath(new URL('./typed-user/tsconfig.json', import.meta.url))
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')

function compile(): { status: number | null; output: string } {
  const run = spawnSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8' })
  return { status: run.status, output: `${run.stdout}${run.stderr}` }
}

test('KeycardTypes types request.jwt, req.jwt, c.get("jwt") and context() with the declared user and claims', () => {
  const { status, output } = compile()
  assert.equal(status, 0, output)
  // The fixture must keep its checks: a file without them would compile and prove nothing.
  const source = readFileSync(new URL('./typed-user/app.ts', import.meta.url), 'utf8')
  assert.ok((source.match(/expectType<Equals</g) ?? []).length >= 8)
  assert.ok((source.match(/@ts-expect-error/g) ?? []).length >= 3)
})
