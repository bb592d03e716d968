/**
 * OpenAPI descriptions of the /auth/* routes (routes/auth.ts). Bodies and headers are documented, not
 * validated by Fastify: the handlers check them by hand with their own messages (openapi.ts).
 */

import { DEVICE_FIELD } from '../throttle/device.ts'
import {
  ACCESS_SECURITY,
  ACCESS_SECURITY_GET,
  DATABASE,
  errors,
  FIELD_400,
  JSON_BODY,
  message,
  ok,
  PATH_PARAM,
  PUBLIC_USER,
  REFRESH_SECURITY,
  TOKEN_GUARD,
} from './common.ts'

const TAGS = ['auth']
const TOKEN_MODE = {
  type: 'object',
  properties: {
    'x-token-mode': {
      type: 'string',
      enum: ['cookie', 'header'],
      description: '`cookie`: the tokens go in HttpOnly cookies, not the body (browsers). `header` (default): in the body.',
    },
  },
} as const
const CREDENTIALS = {
  type: 'object',
  properties: {
    username: { type: 'string', description: 'The username or the email.' },
    password: { type: 'string' },
    [DEVICE_FIELD]: { type: 'string', description: 'The device token an earlier login returned (API clients; browsers send a cookie).' },
  },
  required: ['username', 'password'],
} as const
const TOKENS = {
  type: 'object',
  properties: { access_token: { type: 'string' }, refresh_token: { type: 'string' } },
  required: ['access_token', 'refresh_token'],
  additionalProperties: false,
} as const
/** Header mode: the tokens, and a new device token when the client presented none. */
const LOGIN_TOKENS = {
  type: 'object',
  properties: { ...TOKENS.properties, [DEVICE_FIELD]: { type: 'string' } },
  required: ['access_token', 'refresh_token'],
  additionalProperties: false,
} as const
const FRESH_TOKENS = {
  type: 'object',
  properties: { access_token: { type: 'string' }, [DEVICE_FIELD]: { type: 'string' } },
  required: ['access_token'],
  additionalProperties: false,
} as const
const flag = (name: string) =>
  ({ type: 'object', properties: { [name]: { type: 'boolean', const: true } }, required: [name], additionalProperties: false }) as const

const SIGN_IN: Parameters<typeof errors>[0] = {
  400: ['INVALID_TOKEN_MODE', ...FIELD_400],
  429: ['TOO_MANY_ATTEMPTS'],
  503: ['SIGNING_KEY_UNAVAILABLE'],
}

/**
 * The route schemas of routes/auth.ts, one per route.
 *
 * @example
 * app.post('/auth/login', { schema: AUTH_SCHEMAS.login }, handler)
 */
export const AUTH_SCHEMAS = {
  register: {
    tags: TAGS,
    summary: 'Create a user and sign in',
    headers: TOKEN_MODE,
    body: {
      type: 'object',
      properties: { username: { type: 'string' }, password: { type: 'string' }, email: { type: 'string' } },
      required: ['username', 'password'],
    },
    response: {
      201: ok(
        'Registered and signed in: the tokens (header mode) or cookies (cookie mode).',
        {
          anyOf: [
            {
              type: 'object',
              properties: { user: PUBLIC_USER, ...TOKENS.properties },
              required: ['user', ...TOKENS.required],
              additionalProperties: false,
            },
            { type: 'object', properties: { user: PUBLIC_USER }, required: ['user'], additionalProperties: false },
          ],
        },
        { cookies: true },
      ),
      ...errors(JSON_BODY, SIGN_IN, DATABASE, { 409: ['USER_EXISTS'] }),
    },
  },
  login: {
    tags: TAGS,
    summary: 'Sign in with a username (or email) and password',
    headers: TOKEN_MODE,
    body: CREDENTIALS,
    response: {
      200: ok(
        'Signed in: the tokens (header mode) or `{"login": true}` and cookies (cookie mode).',
        { anyOf: [LOGIN_TOKENS, flag('login')] },
        { cookies: true },
      ),
      ...errors(JSON_BODY, SIGN_IN, DATABASE, { 401: ['BAD_CREDENTIALS'] }),
    },
  },
  freshLogin: {
    tags: TAGS,
    summary: 'Get a fresh access token (no refresh token) by signing in again',
    headers: TOKEN_MODE,
    body: CREDENTIALS,
    response: {
      200: ok(
        'A fresh access token (header mode) or `{"login": true}` and its cookie (cookie mode).',
        { anyOf: [FRESH_TOKENS, flag('login')] },
        { cookies: true },
      ),
      ...errors(JSON_BODY, SIGN_IN, DATABASE, { 401: ['BAD_CREDENTIALS'] }),
    },
  },
  refresh: {
    tags: TAGS,
    summary: 'Rotate the refresh token: a new access and refresh token',
    security: REFRESH_SECURITY,
    response: {
      200: ok(
        'New tokens (bearer) or `{"refresh": true}` and new cookies (cookie).',
        { anyOf: [TOKENS, flag('refresh')] },
        { cookies: true },
      ),
      ...errors(JSON_BODY, TOKEN_GUARD, DATABASE, { 503: ['SIGNING_KEY_UNAVAILABLE'] }),
    },
  },
  logout: {
    tags: TAGS,
    summary: 'End the session of this token (access or refresh)',
    security: [...ACCESS_SECURITY, ...REFRESH_SECURITY.slice(1)],
    response: { 200: ok('Signed out.', message(), { cookies: true }), ...errors(JSON_BODY, TOKEN_GUARD, DATABASE) },
  },
  logoutAll: {
    tags: TAGS,
    summary: "End every one of the user's sessions",
    security: ACCESS_SECURITY,
    response: { 200: ok('Signed out everywhere.', message(true), { cookies: true }), ...errors(JSON_BODY, TOKEN_GUARD, DATABASE) },
  },
  me: {
    tags: TAGS,
    summary: 'The signed-in user',
    security: ACCESS_SECURITY_GET,
    response: { 200: ok('The user.', PUBLIC_USER, { cookies: true }), ...errors(TOKEN_GUARD, DATABASE, { 404: ['USER_NOT_FOUND'] }) },
  },
  tokens: {
    tags: TAGS,
    summary: "The user's live sessions",
    security: ACCESS_SECURITY_GET,
    response: {
      200: ok(
        'The sessions, the current one marked.',
        {
          type: 'object',
          properties: {
            sessions: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  id: { type: 'string' },
                  created_at: { type: 'string', format: 'date-time' },
                  last_used_at: { type: 'string', format: 'date-time' },
                  expires_at: { type: 'string', format: 'date-time' },
                  user_agent: { type: ['string', 'null'] },
                  current: { type: 'boolean' },
                },
                required: ['id', 'created_at', 'last_used_at', 'expires_at', 'user_agent', 'current'],
                additionalProperties: false,
              },
            },
          },
          required: ['sessions'],
          additionalProperties: false,
        },
        { cookies: true },
      ),
      ...errors(TOKEN_GUARD, DATABASE),
    },
  },
  revokeToken: {
    tags: TAGS,
    summary: 'End one of the user’s sessions',
    security: ACCESS_SECURITY,
    params: {
      type: 'object',
      properties: { id: { type: 'string', description: 'A session id from GET /auth/tokens.' } },
      required: ['id'],
    },
    response: {
      200: ok('Revoked.', message(), { cookies: true }),
      ...errors(JSON_BODY, PATH_PARAM, TOKEN_GUARD, DATABASE, { 404: ['SESSION_NOT_FOUND'] }),
    },
  },
  password: {
    tags: TAGS,
    summary: "Change the user's password (a fresh token); other sessions are revoked",
    security: ACCESS_SECURITY,
    body: { type: 'object', properties: { new_password: { type: 'string' } }, required: ['new_password'] },
    response: {
      200: ok('Changed.', message(true), { cookies: true }),
      ...errors(JSON_BODY, TOKEN_GUARD, DATABASE, { 400: FIELD_400, 429: ['TOO_MANY_ATTEMPTS'] }),
    },
  },
} as const
