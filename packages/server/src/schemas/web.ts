/** OpenAPI descriptions of the account page's routes (routes/web.ts): HTML and static assets, for browsers. */

import { errorResponse } from './common.ts'

/**
 * The route schemas of routes/web.ts.
 *
 * @example
 * app.get('/', { schema: WEB_SCHEMAS.page }, handler)
 */
export const WEB_SCHEMAS = {
  page: {
    tags: ['account page'],
    summary: 'The account page (HTML)',
    response: {
      200: { description: 'The page.', content: { 'text/html': { schema: { type: 'string' } } } },
      500: errorResponse(500, ['INTERNAL_ERROR']),
      503: errorResponse(503, ['PAGE_NOT_BUILT'], 'The page is not built (npm run -w keycard-server build:web).', false),
    },
  },
  asset: {
    tags: ['account page'],
    summary: "A file of the account page's bundle",
    params: { type: 'object', properties: { '*': { type: 'string', description: 'The file name (one path segment).' } }, required: ['*'] },
    response: {
      200: { description: 'The file, with its own Content-Type (JavaScript, CSS, images, fonts).', content: { '*/*': { schema: {} } } },
      404: errorResponse(404, ['NOT_FOUND']),
      500: errorResponse(500, ['INTERNAL_ERROR']),
    },
  },
} as const
