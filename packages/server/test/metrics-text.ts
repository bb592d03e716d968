/** A strict reader (NaN and Inf in any case, as Prometheus' parser takes them) of Prometheus' text exposition format, for the metrics tests: every line must parse. */

import assert from 'node:assert/strict'

const SAMPLE =
  /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*\})? (-?(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|\+Inf|-Inf|NaN))(?: -?\d+)?$/i
const META = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/

/**
 * Every sample of `text`, as `name{labels}` (labels as printed) → value; fails on any malformed line or
 * a sample whose metric family has no TYPE line.
 *
 * @example
 * const samples = parseExposition(await (await fetch(url)).text())
 * samples.get('keycard_logins_total{outcome="success"}') // 1
 */
export function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>()
  const typed = new Map<string, string>()
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline')
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue // the format allows empty lines (prom-client puts one between families)
    const meta = META.exec(line)
    if (meta) {
      if (meta[1] === 'TYPE') {
        assert.match(meta[3]!, /^(counter|gauge|histogram|summary|untyped)$/, line)
        typed.set(meta[2]!, meta[3]!)
      }
      continue
    }
    const m = SAMPLE.exec(line)
    assert.ok(m, `not a sample line: ${JSON.stringify(line)}`)
    const name = m[1]!
    const family = [name, name.replace(/_(bucket|sum|count|total)$/, '')].find((n) => typed.has(n))
    assert.ok(family, `${name} has no TYPE line`)
    samples.set(
      name + (m[2] ?? ''),
      Number(
        m[3]!
          .replace(/^\+?inf$/i, 'Infinity')
          .replace(/^-inf$/i, '-Infinity')
          .replace(/^nan$/i, 'NaN'),
      ),
    )
  }
  return samples
}
