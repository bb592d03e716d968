/**
 * Legacy (Flask) password hashes: vectors made by the real libraries (passlib 1.7 and bcrypt from
 * Debian, Werkzeug 2.2's pbkdf2:sha256; scrypt by hashlib.scrypt exactly as Werkzeug 3's
 * _hash_internal does, since Debian 12's Werkzeug predates scrypt), checked by legacy-hashes.ts and by
 * the server's hasher, which then reports them as needing a re-hash to argon2id. Crafted rows outside
 * the cost bounds are refused without being run.
 */

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { MAX_PBKDF2_ITERATIONS, parseLegacyHash, verifyLegacyHash } from '../src/legacy-hashes.ts'
import { createPasswordHasher } from '../src/passwords.ts'

const ASCII = 'correct horse battery'
const UNICODE = "Zoë's pässword"

/** [format, password, hash], from the Python libraries (see the file comment). */
const VECTORS: readonly [string, string, string][] = [
  ['passlib-pbkdf2-sha256', ASCII, '$pbkdf2-sha256$1000$V.pdK4WwVgrhXMtZi/F.7w$2gFhlxSirHjwzOvv7aXA0ZUazdHgKr6GzkkOBSpLU74'],
  ['passlib-pbkdf2-sha256', UNICODE, '$pbkdf2-sha256$1000$IMSYUypFCEFIKYXQes/53w$yrE0E.MQnLKkev7y6dFIQISKALHsPVaRz4nYG5MbWOc'],
  ['bcrypt', ASCII, '$2b$04$7Cq2aGnGMuasXSw2c33jBO8S.EVglWPasXYNHn7SfukYano2eatYi'],
  ['bcrypt', UNICODE, '$2a$04$CFM0tO4DYNpc0EMmCllFZ.WGj7xduSkUxjkfrVsey39HSkGqShz8a'],
  // PHP's $2y$ is the same algorithm: the $2b$ vector under its prefix.
  ['bcrypt', ASCII, '$2y$04$7Cq2aGnGMuasXSw2c33jBO8S.EVglWPasXYNHn7SfukYano2eatYi'],
  ['werkzeug-pbkdf2-sha256', ASCII, 'pbkdf2:sha256:1000$iBacBqU4OarL8EQX$b4ff20dc18b13d1ceda159034d7f492dab9c16edb9fe6e9bd93fa14af388eb24'],
  [
    'werkzeug-scrypt',
    ASCII,
    'scrypt:1024:8:1$GkT3yS0qQxPz8WmN$0be1d655b14870a9923f6d110460d64efab565818b61288b7db752089199272d688edc755af7f67d5c8faf61e7f6957a69e216cc9ecddc5db0125913f13aa843',
  ],
  [
    'werkzeug-scrypt',
    UNICODE,
    'scrypt:32768:8:1$b1Yc9Kd2LmQpRsTu$6b4f1da54099fa79884596296108cdbbcac624e948d48093e73bb4570ea15dd2cbf477448dc1848c99e5d366edadf5fdb7337e282d90606298fb6a88c2f45246',
  ],
]

describe('legacy password hashes', () => {
  for (const [format, password, hash] of VECTORS) {
    test(`${format} ${hash.slice(0, 14)}…: the right password verifies, a wrong one does not`, async () => {
      const parsed = parseLegacyHash(hash)
      assert.equal(parsed.ok && parsed.hash.format, format)
      assert.equal(await verifyLegacyHash(hash, password), true)
      assert.equal(await verifyLegacyHash(hash, `${password}!`), false)
      assert.equal(await verifyLegacyHash(hash, password.toUpperCase()), false)
    })
  }

  test("the server's hasher verifies them and asks for a re-hash; an unknown user still fails", async () => {
    const hasher = createPasswordHasher({ memoryCost: 256, timeCost: 1, parallelism: 1 })
    for (const [, password, hash] of VECTORS) {
      assert.equal(await hasher.verify(hash, password), true, hash)
      assert.equal(await hasher.verify(hash, 'wrong password'), false, hash)
      assert.equal(hasher.needsRehash(hash), true, hash)
    }
    const argon = await hasher.hash(ASCII)
    assert.equal(hasher.needsRehash(argon), false)
    assert.equal(await hasher.verify(null, ASCII), false)
    // Over the length bound: refused as for argon2, even though the legacy hash would match it.
    assert.equal(await hasher.verify(VECTORS[0]![2], 'x'.repeat(2000)), false)
  })

  test('crafted or malformed hashes are refused without running, each with its reason', async () => {
    const refused: [string, RegExp][] = [
      [
        `$pbkdf2-sha256$${MAX_PBKDF2_ITERATIONS + 1}$V.pdK4WwVgrhXMtZi/F.7w$2gFhlxSirHjwzOvv7aXA0ZUazdHgKr6GzkkOBSpLU74`,
        /rounds must be 1 to/,
      ],
      ['$pbkdf2-sha256$01000$V.pdK4WwVgrhXMtZi/F.7w$2gFhlxSirHjwzOvv7aXA0ZUazdHgKr6GzkkOBSpLU74', /rounds must be/],
      ['$pbkdf2-sha256$1000$V.pdK4WwVgrhXMtZi/F.7w$2gFhlxSirHjw', /malformed passlib/],
      ['$pbkdf2-sha256$1000$V.pd$K4Ww$2gFhlxSirHjwzOvv7aXA0ZUazdHgKr6GzkkOBSpLU74', /malformed passlib/],
      ['$2b$31$7Cq2aGnGMuasXSw2c33jBO8S.EVglWPasXYNHn7SfukYano2eatYi', /bcrypt cost must be 4 to 15/],
      ['$2x$04$7Cq2aGnGMuasXSw2c33jBO8S.EVglWPasXYNHn7SfukYano2eatYi', /malformed bcrypt/],
      ['pbkdf2:sha256:99999999$salt$b4ff20dc18b13d1ceda159034d7f492dab9c16edb9fe6e9bd93fa14af388eb24', /iterations must be 1 to/],
      ['pbkdf2:sha256$salt$b4ff20dc18b13d1ceda159034d7f492dab9c16edb9fe6e9bd93fa14af388eb24', /must be pbkdf2:sha256:<iterations>/],
      ['pbkdf2:md5:1000$salt$b4ff20dc18b13d1ceda159034d7f492d', /must be pbkdf2:sha256/],
      ['pbkdf2:sha256:1000$salt$XYZ', /malformed Werkzeug/],
      [`scrypt:${2 ** 20}:8:1$salt$${'ab'.repeat(64)}`, /scrypt parameters out of bounds/],
      [`scrypt:1000:8:1$salt$${'ab'.repeat(64)}`, /scrypt parameters out of bounds/],
      [`scrypt:1024:8:64$salt$${'ab'.repeat(64)}`, /scrypt parameters out of bounds/],
      ['md5$abc$def', /unknown hash format/],
      ['plaintext password', /unknown hash format/],
    ]
    for (const [hash, problem] of refused) {
      const parsed = parseLegacyHash(hash)
      assert.equal(parsed.ok, false, hash)
      assert.match(parsed.ok ? '' : parsed.problem, problem, hash)
      assert.equal(await verifyLegacyHash(hash, ASCII), false, hash)
    }
  })
})
