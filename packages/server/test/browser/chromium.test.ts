/** Where the browser tests find Chromium: CHROMIUM_PATH first, Debian's path otherwise, and a failure naming the fix. */

import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { chromiumPath } from './chromium.ts'

test('CHROMIUM_PATH wins when set; a missing one fails naming the variable and the fix', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'keycard-chromium-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const binary = join(dir, 'chrome')
  writeFileSync(binary, '')
  assert.equal(chromiumPath({ CHROMIUM_PATH: binary }), binary)
  assert.throws(
    () => chromiumPath({ CHROMIUM_PATH: join(dir, 'nope') }),
    (err: Error) => {
      assert.match(err.message, /^CHROMIUM_PATH=.*nope does not exist: point it at a Chromium or Chrome binary, or unset it/)
      return true
    },
  )
})

test("without CHROMIUM_PATH it is Debian's /usr/bin/chromium, or a failure saying what to install", () => {
  let path: string | undefined
  try {
    path = chromiumPath({})
  } catch (err) {
    assert.match((err as Error).message, /^\/usr\/bin\/chromium is missing: install Chromium \(Debian: apt-get install chromium/)
    assert.match((err as Error).message, /set CHROMIUM_PATH/)
  }
  if (path === undefined) return
  assert.equal(path, '/usr/bin/chromium')
  // An empty value counts as unset (a shell's `CHROMIUM_PATH= npm test`).
  assert.equal(chromiumPath({ CHROMIUM_PATH: '' }), path)
})
