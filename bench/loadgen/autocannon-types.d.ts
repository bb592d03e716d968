// The part of autocannon's API bench/loadgen/autocannon.ts uses (autocannon ships no types).
declare module 'autocannon' {
  namespace autocannon {
    interface Request {
      method?: 'GET' | 'POST'
      path?: string
      headers?: Record<string, string>
      body?: string
      setupRequest?: (request: Request, context: Record<string, unknown>) => Request
      onResponse?: (status: number, body: string, context: Record<string, unknown>) => void
    }
    interface Options {
      url: string
      method?: Request['method']
      headers?: Record<string, string>
      body?: string
      requests?: Request[]
      connections?: number
      duration?: number
      timeout?: number
    }
    interface Histogram {
      p50: number
      p90: number
      p99: number
      max: number
      average: number
    }
    interface Result {
      duration: number
      requests: Histogram & { total: number }
      latency: Histogram
      errors: number
      timeouts: number
      non2xx: number
      '2xx': number
    }
  }
  function autocannon(options: autocannon.Options): Promise<autocannon.Result>
  export default autocannon
}
