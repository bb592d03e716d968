/**
 * Decoding UTF-8 without losing track of bytes that are not UTF-8. The usual decoders (Buffer's,
 * Fastify's, a `setEncoding('utf8')` stream) turn each bad byte into U+FFFD, which a password or name
 * can legitimately hold too, so the damage is silent. Here each bad byte becomes a lone surrogate
 * instead (U+DC80 + byte, as Python's "surrogateescape"): valid UTF-8 can never produce one, so the
 * rules that refuse lone surrogates (identity-rules.ts unicodeProblem, body.ts) refuse these too.
 */

const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Length of the well-formed UTF-8 sequence at `i` (Unicode table 3-7), or 0 when the byte there starts none. */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const b = bytes[i]!
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < bytes.length && bytes[i + k]! >= lo && bytes[i + k]! <= hi
  if (b < 0x80) return 1
  if (b >= 0xc2 && b <= 0xdf) return cont(1) ? 2 : 0
  if (b >= 0xe0 && b <= 0xef) {
    // E0 needs A0-BF (no overlong forms); ED needs 80-9F (no surrogates).
    const ok = b === 0xe0 ? cont(1, 0xa0) : b === 0xed ? cont(1, 0x80, 0x9f) : cont(1)
    return ok && cont(2) ? 3 : 0
  }
  if (b >= 0xf0 && b <= 0xf4) {
    // F0 needs 90-BF (no overlong forms); F4 needs 80-8F (nothing above U+10FFFF).
    const ok = b === 0xf0 ? cont(1, 0x90) : b === 0xf4 ? cont(1, 0x80, 0x8f) : cont(1)
    return ok && cont(2) && cont(3) ? 4 : 0
  }
  return 0
}

/**
 * `bytes` as text, and whether they were all valid UTF-8; each invalid byte becomes the lone surrogate
 * U+DC80 + byte. A byte-order mark is kept (JSON.parse and the rules see it). One pass, native when
 * the bytes are valid.
 *
 * @example
 * decodeUtf8(Buffer.from([0x61, 0xff])) // { text: 'a\udcff', valid: false }
 */
export function decodeUtf8(bytes: Uint8Array): { text: string; valid: boolean } {
  try {
    return { text: fatal.decode(bytes), valid: true }
  } catch {
    // Fall through to the byte-by-byte pass, only for input that is already known to be bad.
  }
  const parts: string[] = []
  let start = 0
  let i = 0
  while (i < bytes.length) {
    const length = sequenceLength(bytes, i)
    if (length > 0) {
      i += length
      continue
    }
    if (i > start) parts.push(fatal.decode(bytes.subarray(start, i)))
    parts.push(String.fromCharCode(0xdc00 + bytes[i]!))
    i++
    start = i
  }
  if (start < bytes.length) parts.push(fatal.decode(bytes.subarray(start)))
  return { text: parts.join(''), valid: false }
}

/**
 * A streaming decoder for chunks of one text (a terminal's keystrokes): a character split across
 * chunks is held until it is complete; bad bytes become lone surrogates as in {@link decodeUtf8}.
 *
 * @example
 * const d = new Utf8Stream()
 * d.write(Buffer.from([0xc3])) + d.write(Buffer.from([0xa9])) // 'é'
 */
export class Utf8Stream {
  #pending: Uint8Array = new Uint8Array(0)

  /** The text the bytes so far complete; an unfinished sequence at the end waits for the next chunk. */
  write(chunk: Uint8Array): string {
    const bytes = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk])
    const keep = incompleteTail(bytes)
    this.#pending = bytes.slice(bytes.length - keep)
    return decodeUtf8(bytes.subarray(0, bytes.length - keep)).text
  }
}

/** How many bytes at the end of `bytes` start a valid sequence that needs more bytes (0 to 3). */
function incompleteTail(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const b = bytes[bytes.length - back]!
    if (b >= 0x80 && b <= 0xbf) continue
    const need = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 1
    if (need <= back) return 0
    // A lead byte alone can always be completed; with its second byte (the one with a narrowed
    // range), it can when filling the rest with 0x80, allowed in every later position, gives a sequence.
    if (back === 1) return 1
    const probe = new Uint8Array(need).fill(0x80)
    probe.set(bytes.subarray(bytes.length - back))
    return sequenceLength(probe, 0) > 0 ? back : 0
  }
  return 0
}
