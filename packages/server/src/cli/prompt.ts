/**
 * Reading a password without showing it: a hidden prompt when stdin is a terminal (raw mode, nothing
 * echoed, backspace and Ctrl-U edit, Enter ends, Ctrl-C cancels), else the first line of stdin. Also a
 * yes/no question for confirmations. The streams are parameters, so tests can pass their own.
 */

import type { Readable, Writable } from 'node:stream'
import { decodeUtf8, Utf8Stream } from '../utf8.ts'

/** The user pressed Ctrl-C (or Ctrl-D on an empty line, or the input ended) at a prompt. */
export class PromptCancelled extends Error {
  constructor() {
    super('cancelled')
    this.name = 'PromptCancelled'
  }
}

/** What a terminal's stdin offers beyond a Readable (a `tty.ReadStream`). */
export interface PromptInput extends Readable {
  isTTY?: boolean
  isRaw?: boolean
  setRawMode?(mode: boolean): unknown
}

const ENTER = new Set(['\r', '\n'])
const CTRL_C = '\u0003'
const CTRL_D = '\u0004'
const CTRL_U = '\u0015'
const BACKSPACE = new Set(['\u007f', '\b'])
const ESC = '\u001b'

/**
 * The line editing of the hidden prompt, apart from any stream: feed it what the terminal sends in raw
 * mode. Escape sequences (arrow keys, function keys, bracketed-paste markers) and other control
 * characters are dropped; characters are code points, so a backspace removes a whole `é` or emoji.
 */
export class HiddenLineEditor {
  #chars: string[] = []
  /** Inside an escape sequence: 'esc' after ESC, 'csi' after `ESC [` or `ESC O` until its final byte. */
  #escape: 'none' | 'esc' | 'csi' = 'none'
  #state: 'editing' | 'done' | 'cancelled' = 'editing'

  /** Processes a chunk; stops at Enter or a cancel and ignores the rest. */
  feed(chunk: string): 'editing' | 'done' | 'cancelled' {
    for (const ch of chunk) {
      if (this.#state !== 'editing') break
      this.#key(ch)
    }
    return this.#state
  }

  #key(ch: string): void {
    if (this.#escape === 'esc') {
      this.#escape = ch === '[' || ch === 'O' ? 'csi' : 'none'
      return
    }
    if (this.#escape === 'csi') {
      // CSI parameters and intermediates are 0x20–0x3f; a byte from 0x40 to 0x7e ends the sequence.
      const code = ch.codePointAt(0)!
      if (code >= 0x40 && code <= 0x7e) this.#escape = 'none'
      return
    }
    if (ENTER.has(ch)) this.#state = 'done'
    else if (ch === CTRL_C) this.#state = 'cancelled'
    else if (ch === CTRL_D) {
      if (this.#chars.length === 0) this.#state = 'cancelled'
    } else if (BACKSPACE.has(ch)) this.#chars.pop()
    else if (ch === CTRL_U) this.#chars = []
    else if (ch === ESC) this.#escape = 'esc'
    else if (ch === '\t' || ch.codePointAt(0)! >= 0x20) this.#chars.push(ch)
  }

  get value(): string {
    return this.#chars.join('')
  }

  get state(): 'editing' | 'done' | 'cancelled' {
    return this.#state
  }
}

/**
 * Writes `prompt` to `output` and reads one line from the terminal `input` in raw mode, echoing
 * nothing. Restores the terminal mode afterwards. Rejects with PromptCancelled on Ctrl-C.
 */
export function readHiddenLine(input: PromptInput, output: Writable, prompt: string): Promise<string> {
  if (!input.setRawMode) return Promise.reject(new Error('readHiddenLine needs a terminal (an input with setRawMode)'))
  const wasRaw = input.isRaw ?? false
  const editor = new HiddenLineEditor()
  // Bytes, not setEncoding('utf8'): that would turn what a non-UTF-8 terminal sends into U+FFFD, a
  // different password that works; Utf8Stream keeps bad bytes visible (as lone surrogates) to the rules.
  const decoder = new Utf8Stream()
  // Raw mode first: a key typed as soon as the prompt shows must not be echoed by the terminal.
  input.setRawMode(true)
  output.write(prompt)

  return new Promise((resolve, reject) => {
    const finish = () => {
      input.off('data', onData)
      input.off('end', onEnd)
      input.setRawMode!(wasRaw)
      input.pause()
      // The cursor is still after the prompt: Enter was not echoed either.
      output.write('\n')
    }
    const onData = (chunk: Buffer | string) => {
      const state = editor.feed(typeof chunk === 'string' ? chunk : decoder.write(chunk))
      if (state === 'editing') return
      finish()
      if (state === 'done') resolve(editor.value)
      else reject(new PromptCancelled())
    }
    const onEnd = () => {
      finish()
      reject(new PromptCancelled())
    }
    input.on('data', onData)
    input.on('end', onEnd)
    input.resume()
  })
}

/** Longest first line `readFirstLine` collects; a password this long is refused by the rules anyway. */
export const MAX_LINE_BYTES = 64 * 1024

/**
 * The first line of `input` without its line ending (`\n` or `\r\n`), or null when the input is empty.
 * Stops reading at the first newline, or after `maxBytes` (returning what it has), and leaves the
 * stream paused. Nothing else is trimmed: spaces belong to the password. Bytes that are not UTF-8
 * come back as lone surrogates (utf8.ts), which the password rules refuse, never as U+FFFD.
 */
export function readFirstLine(input: Readable, maxBytes = MAX_LINE_BYTES): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const finish = (line: string | null) => {
      input.off('data', onData)
      input.off('end', onEnd)
      input.off('error', onError)
      input.pause()
      resolve(line)
    }
    const onData = (chunk: Buffer | string) => {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
      const newline = buffer.indexOf(0x0a)
      chunks.push(newline === -1 ? buffer : buffer.subarray(0, newline))
      size += buffer.length
      if (newline !== -1 || size >= maxBytes) finish(decodeUtf8(Buffer.concat(chunks)).text.replace(/\r$/, ''))
    }
    const onEnd = () => finish(size === 0 ? null : decodeUtf8(Buffer.concat(chunks)).text.replace(/\r$/, ''))
    const onError = (err: Error) => {
      input.off('data', onData)
      input.off('end', onEnd)
      reject(err)
    }
    input.on('data', onData)
    input.on('end', onEnd)
    input.on('error', onError)
    input.resume()
  })
}

/**
 * Asks a yes/no question on a terminal (with echo, in the terminal's own line mode): resolves true only
 * for `y` or `yes`. An empty answer or the end of input is no.
 */
export async function confirm(input: PromptInput, output: Writable, question: string): Promise<boolean> {
  output.write(`${question} [y/N] `)
  const answer = await readFirstLine(input, 1024)
  return answer !== null && /^\s*y(es)?\s*$/i.test(answer)
}
