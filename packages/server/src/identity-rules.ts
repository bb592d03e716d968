/**
 * The rules for usernames and emails: how each is normalised, when it is refused, and the folded key
 * that makes it unique and case-insensitive. Pure functions, shared by users.ts, the HTTP routes, the
 * CLI and the migration that added the keys (so old and new rows are keyed the same way).
 *
 * - A username is NFC-normalised and kept exactly as typed otherwise ("Zoë" stays "Zoë"). It is 3 to 32
 *   code points of letters (`\p{L}`) and decimal digits (`\p{Nd}`) of any script, combining marks
 *   (`\p{M}`, for scripts such as Devanagari and for marks NFC cannot compose) and `_ . -`, starting
 *   with a letter or digit. No `@`, so a login name with `@` is always an email.
 * - An email is trimmed and NFC-normalised, its domain (after the `@`) lower-cased and its local part
 *   kept as typed; control characters (NUL, line breaks…) are refused.
 * - Both are unique by their key, {@link foldCase} of the normalised form, so "ZOË" is taken by "Zoë"
 *   and logs in as her.
 */

/**
 * Shortest and longest username, in code points after NFC.
 *
 * @example
 * `username must be ${USERNAME_MIN} to ${USERNAME_MAX} characters long`
 */
export const USERNAME_MIN = 3
/** See {@link USERNAME_MIN}. @example `at most ${USERNAME_MAX}` */
export const USERNAME_MAX = 32
/**
 * Longest email, in UTF-16 units (as before this module; SMTP's own limit is 254 octets).
 *
 * @example
 * email.length <= EMAIL_MAX
 */
export const EMAIL_MAX = 254

/**
 * Longest login name (a username or an email) that can name a user: longer ones skip the lookup and
 * normalisation (never the password hash), so their cost stays linear.
 *
 * @example
 * const user = login.length <= LOGIN_MAX ? await findUserByLogin(db, login) : undefined
 */
export const LOGIN_MAX = EMAIL_MAX

/**
 * Inputs longer than these (in UTF-16 units) are never normalised: NFC's canonical reordering is
 * quadratic in a run of combining marks (a 64 KiB body of alternating U+0301 U+0316 cost half a second
 * of CPU), and such inputs are refused anyway. NFC composes at most 4 code points into one, and a code
 * point is at most 2 units, so an input over 8 × the limit is still over the limit once normalised.
 */
const USERNAME_INPUT_MAX = 8 * USERNAME_MAX
const EMAIL_INPUT_MAX = 8 * EMAIL_MAX

// One character class each, no alternation or nesting: each test is a single linear pass.
const USERNAME_START = /^[\p{L}\p{Nd}]/u
const USERNAME_BAD_CHAR = /[^\p{L}\p{Nd}\p{M}_.-]/u
const SPACE = /\s/u
const CONTROL = /\p{Cc}/u
// With the `u` flag a surrogate pair is one code point, so this matches only a lone surrogate.
const LONE_SURROGATE = /\p{Cs}/u
const REPLACEMENT = '\uFFFD'

/**
 * What the rules say of a username or email: the normalised value, or why it is refused.
 *
 * @example
 * const r = checkUsername(input)
 * if (!r.ok) throw new HttpError(400, `username ${r.problem}`)
 */
export type RuleResult = { ok: true; value: string } | { ok: false; problem: string }

/**
 * The key two names are compared by: NFC, then full case folding approximated as upper-casing then
 * lower-casing (JS has no casefold(); this maps ß→ss, ﬀ→ff, ς and σ alike), then NFC again. Names
 * with the same upper-case form always share a key, so dotless ı and i do too (full folding keeps
 * them apart: we prefer one account to two look-alikes). `toUpperCase`/`toLowerCase` are
 * locale-independent, so the key does not depend on the machine's locale.
 *
 * @example
 * foldCase('ZOË') === foldCase('Zoë') // true
 * foldCase('Straße') // 'strasse'
 */
export function foldCase(text: string): string {
  return text.normalize('NFC').toUpperCase().toLowerCase().normalize('NFC')
}

/** `U+1F600` for a code point, to name a refused character without relying on the terminal to show it. */
function codePointName(ch: string): string {
  return `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`
}

/**
 * Why `text` is not well-formed (it holds a lone surrogate; utf8.ts decodes bad UTF-8 bytes to one),
 * as the end of "<field> …", or null.
 *
 * @example
 * unicodeProblem('pass\ud800word') // 'must be valid UTF-8 text (it holds invalid bytes or a lone surrogate)'
 */
export function unicodeProblem(text: string): string | null {
  return !LONE_SURROGATE.test(text) ? null : 'must be valid UTF-8 text (it holds invalid bytes or a lone surrogate)'
}

/**
 * Normalises a username (NFC) and checks the rules; the problem is the end of "username …".
 *
 * @example
 * checkUsername('Zoe\u0308') // { ok: true, value: 'Zoë' }
 * checkUsername('zoë 😀')    // { ok: false, problem: "may hold only letters, digits, '_', '.' and '-': ' ' (U+0020) is not allowed" }
 */
export function checkUsername(input: string): RuleResult {
  const unicode = unicodeProblem(input)
  if (unicode) return { ok: false, problem: unicode }
  // Too long either way: the same checks on the input as typed (its length is then over the maximum).
  const value = input.length > USERNAME_INPUT_MAX ? input : input.normalize('NFC')
  const bad = USERNAME_BAD_CHAR.exec(value)
  if (bad) {
    const ch = String.fromCodePoint(bad[0].codePointAt(0)!)
    const shown = CONTROL.test(ch) ? '' : `'${ch}' `
    return {
      ok: false,
      problem: `may hold only letters, digits, '_', '.' and '-' (any script): ${shown}(${codePointName(ch)}) is not allowed`,
    }
  }
  let length = 0
  for (const _ of value) length++
  if (length < USERNAME_MIN || length > USERNAME_MAX)
    return { ok: false, problem: `must be ${USERNAME_MIN} to ${USERNAME_MAX} characters long (it has ${length})` }
  if (!USERNAME_START.test(value)) return { ok: false, problem: 'must start with a letter or digit' }
  return { ok: true, value }
}

/**
 * The key a username is unique and looked up by (its NFC form, case-folded).
 *
 * @example
 * usernameKey('ZOË') === usernameKey('Zoë') // true
 */
export function usernameKey(username: string): string {
  return foldCase(username)
}

/**
 * `local@domain.tld`: one `@` with something before it, no whitespace, and a dot in the domain with
 * something on each side (the old regex's rule, `^[^\s@]+@[^\s@]+\.[^\s@]+$`, without its backtracking).
 */
function emailShaped(email: string): boolean {
  if (email.length > EMAIL_MAX || SPACE.test(email)) return false
  const at = email.indexOf('@')
  if (at <= 0 || email.indexOf('@', at + 1) !== -1) return false
  const domain = email.slice(at + 1)
  const dot = domain.indexOf('.', 1)
  return dot !== -1 && dot < domain.length - 1
}

/**
 * Normalises an email (trim, NFC, domain lower-cased) and checks the rules; the problem is the end of
 * "email …".
 *
 * @example
 * checkEmail(' Zoë@Example.COM ') // { ok: true, value: 'Zoë@example.com' }
 * checkEmail('a\u0000@b.c')       // { ok: false, problem: 'must not contain control characters such as NUL or a line break (U+0000)' }
 */
export function checkEmail(input: string): RuleResult {
  const unicode = unicodeProblem(input)
  if (unicode) return { ok: false, problem: unicode }
  const trimmed = input.trim()
  const control = CONTROL.exec(trimmed)
  if (control)
    return { ok: false, problem: `must not contain control characters such as NUL or a line break (${codePointName(control[0])})` }
  if (trimmed.includes(REPLACEMENT))
    return { ok: false, problem: 'must not contain U+FFFD, the replacement character (text decoded from the wrong encoding?)' }
  // Too long either way: emailShaped refuses it for its length.
  const nfc = trimmed.length > EMAIL_INPUT_MAX ? trimmed : trimmed.normalize('NFC')
  if (!emailShaped(nfc)) return { ok: false, problem: 'must be an email address such as name@example.com' }
  const at = nfc.indexOf('@')
  return { ok: true, value: nfc.slice(0, at + 1) + nfc.slice(at + 1).toLowerCase() }
}

/**
 * The key an email is unique and looked up by: the normalised email, case-folded as a whole (so, as
 * before this module, the local part too is case-insensitive: "Zoë@x.org" and "zoë@x.org" are one).
 *
 * @example
 * emailKey('Zoë@example.com') === emailKey('ZOË@EXAMPLE.COM') // true
 */
export function emailKey(email: string): string {
  return foldCase(email)
}

/**
 * The key of what someone typed to log in, for the column it belongs to: an email when it holds `@`,
 * else a username. Normalised as on registration, but never refused: a login that breaks the rules
 * simply matches nobody.
 *
 * @example
 * loginKey(' Zoë@Example.com') // { column: 'email_key', key: 'zoë@example.com' }
 * loginKey('ZOË')              // { column: 'username_key', key: 'zoë' }
 */
export function loginKey(login: string): { column: 'username_key' | 'email_key'; key: string } {
  if (login.includes('@')) return { column: 'email_key', key: emailKey(login.trim()) }
  return { column: 'username_key', key: usernameKey(login) }
}
