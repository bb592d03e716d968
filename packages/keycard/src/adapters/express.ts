/**
 * Express 5 adapter: `keycard/express`.
 *
 * @example
 * const auth = expressKeycard(keycard)
 * app.get('/me', auth.jwtRequired(), (req, res) => { res.json({ id: req.jwt!.identity }) })
 */

import type { RequestHandler, Request, Response } from 'express'
import { isTokenError, KeycardError } from '../errors.ts'
import type { JwtRequiredOptions, Keycard } from '../keycard.ts'
import { NodeRequestView } from '../request.ts'
import type { AuthResponse } from '../responses.ts'
import type { JwtContext } from '../types.ts'

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by a keycard guard: the verified token, or null on an optional route without one. */
      jwt?: JwtContext | null
    }
  }
}

export interface ExpressKeycard<User> {
  /** Middleware that verifies the request's token and answers auth failures itself. */
  jwtRequired(options?: JwtRequiredOptions): RequestHandler
  /** The verified token of a guarded request, typed with your user; throws outside a guarded route. */
  context(req: Request): JwtContext<User>
  /** Writes a keycard error response (status, `WWW-Authenticate`, `{msg}` body). */
  sendError(res: Response, response: AuthResponse): void
}

function send(res: Response, response: AuthResponse): void {
  res.status(response.status).set(response.headers).json(response.body)
}

export function expressKeycard<User = unknown>(keycard: Keycard<User>): ExpressKeycard<User> {
  return {
    jwtRequired(options) {
      const guard = keycard.guardOptions(options)
      return function keycardGuard(req, res, next) {
        keycard.verifyJwtInRequest(new NodeRequestView(req, req.body), guard).then(
          (context) => {
            req.jwt = context
            next()
          },
          (err: unknown) => {
            // Rendered here, not passed on: an app's error handler can never turn it into a 500.
            if (isTokenError(err)) send(res, keycard.renderError(err))
            else next(err)
          },
        )
      }
    },
    context(req) {
      if (!req.jwt) throw new KeycardError('KEYCARD_NO_CONTEXT', 'No verified token on this request: guard the route with jwtRequired() (and handle optional routes, where req.jwt is null).')
      return req.jwt as JwtContext<User>
    },
    sendError: send,
  }
}
