/**
 * The `code` and `field` a body-field error answers beside its `msg`, for tests that list many
 * messages: `Missing field: x` is MISSING_FIELD, `Field x must be a string` and `x must …` are
 * INVALID_FIELD (each with `field: 'x'`), and a body that is not an object is BODY_NOT_OBJECT.
 */

/**
 * @example
 * ```ts
 * assert.deepEqual(res.body, { msg, ...codeOf(msg) }) // 'Missing field: email' → { code: 'MISSING_FIELD', field: 'email' }
 * ```
 */
export function codeOf(msg: string): { code: string; field?: string } {
  if (msg === 'Request body must be a JSON object') return { code: 'BODY_NOT_OBJECT' }
  const missing = /^Missing field: (\w+)$/.exec(msg)
  if (missing) return { code: 'MISSING_FIELD', field: missing[1]! }
  const invalid = /^(?:Field )?(\w+) must /.exec(msg)
  if (invalid) return { code: 'INVALID_FIELD', field: invalid[1]! }
  throw new Error(`no field error code for ${JSON.stringify(msg)}`)
}
