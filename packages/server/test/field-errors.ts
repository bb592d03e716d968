/**
 * The `code` and `field` a body-field error answers beside its `msg`, for tests that list many
 * messages: `Missing field: x` is MISSING_FIELD, `Field x must be a string` and `x must …` are
 * INVALID_FIELD (each with `field: 'x'`), and a body that is not an object is BODY_NOT_OBJECT.
 */

const FIXED: Readonly<Record<string, { code: string; field?: string }>> = {
  'Request body must be a JSON object': { code: 'BODY_NOT_OBJECT' },
  'Malformed JSON in request body': { code: 'MALFORMED_JSON' },
  'Request body is empty but Content-Type is application/json': { code: 'EMPTY_BODY' },
  'Username is already taken': { code: 'USER_EXISTS', field: 'username' },
  'Email is already registered': { code: 'USER_EXISTS', field: 'email' },
}

/**
 * @example
 * ```ts
 * assert.deepEqual(res.body, { msg, ...codeOf(msg) }) // 'Missing field: email' → { code: 'MISSING_FIELD', field: 'email' }
 * ```
 */
export function codeOf(msg: string): { code: string; field?: string } {
  const fixed = FIXED[msg]
  if (fixed) return fixed
  if (msg.startsWith('Request body must be valid UTF-8')) return { code: 'MALFORMED_JSON' }
  if (msg.startsWith("The request body's field names")) return { code: 'INVALID_FIELD' }
  const missing = /^Missing field: (\w+)$/.exec(msg)
  if (missing) return { code: 'MISSING_FIELD', field: missing[1]! }
  const invalid = /^(?:Field )?(\w+) (?:must|may) /.exec(msg)
  if (invalid) return { code: 'INVALID_FIELD', field: invalid[1]! }
  throw new Error(`no field error code for ${JSON.stringify(msg)}`)
}
