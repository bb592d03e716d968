/**
 * METRICS_PORT, METRICS_HOST and METRICS_TOKEN: where /metrics is served (metrics/endpoint.ts). Checked
 * with the rest of the configuration at startup; each message says how to fix it.
 */

type Env = Record<string, string | undefined>

/** Shortest METRICS_TOKEN accepted: a guessable token would publish the metrics. */
export const MIN_METRICS_TOKEN = 16

export interface MetricsConfig {
  /** METRICS_PORT: a separate listener serving only /metrics (0 = any free port); undefined = none. */
  readonly metricsPort: number | undefined
  /** METRICS_HOST: that listener's address (default HOST). */
  readonly metricsHost: string
  /** METRICS_TOKEN: the bearer token /metrics requires; undefined = none (then only METRICS_PORT serves it). */
  readonly metricsToken: string | undefined
}

/**
 * @example
 * parseMetrics(problems, { METRICS_PORT: '9464' }, '127.0.0.1', 3000) // { metricsPort: 9464, metricsHost: '127.0.0.1', metricsToken: undefined }
 */
export function parseMetrics(problems: string[], env: Env, host: string, port: number): MetricsConfig {
  let metricsPort: number | undefined
  const rawPort = env.METRICS_PORT?.trim()
  if (rawPort !== undefined && rawPort !== '') {
    if (!/^\d+$/.test(rawPort) || Number(rawPort) > 65535)
      problems.push(`METRICS_PORT: expected a port from 0 to 65535 (0 = any free port), got ${JSON.stringify(env.METRICS_PORT)}`)
    else if (Number(rawPort) !== 0 && Number(rawPort) === port)
      problems.push(
        `METRICS_PORT: must differ from PORT (${port}): the metrics listener is a separate one; pick another port or unset METRICS_PORT`,
      )
    else metricsPort = Number(rawPort)
  }
  const rawHost = env.METRICS_HOST?.trim()
  const metricsHost = rawHost === undefined || rawHost === '' ? host : rawHost
  // Only METRICS_HOST itself: a bad HOST is reported as HOST.
  if (rawHost !== undefined && rawHost !== '' && /\s|\//.test(rawHost))
    problems.push(`METRICS_HOST: expected a hostname or IP address such as 127.0.0.1, got ${JSON.stringify(env.METRICS_HOST)}`)
  else if (rawHost !== undefined && rawHost !== '' && metricsPort === undefined)
    problems.push('METRICS_HOST: only used with METRICS_PORT; set METRICS_PORT too, or unset METRICS_HOST')
  let metricsToken: string | undefined
  const token = env.METRICS_TOKEN
  if (token !== undefined && token !== '') {
    if (!/^[\x21-\x7e]+$/.test(token))
      problems.push(
        'METRICS_TOKEN: must be printable ASCII without spaces (it is sent as `Authorization: Bearer <token>`); generate one with `openssl rand -hex 32`',
      )
    else if (token.length < MIN_METRICS_TOKEN)
      problems.push(
        `METRICS_TOKEN: must be at least ${MIN_METRICS_TOKEN} characters, got ${token.length}; generate one with \`openssl rand -hex 32\``,
      )
    else metricsToken = token
  }
  return { metricsPort, metricsHost, metricsToken }
}
