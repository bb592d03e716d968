import { defineConfig } from 'vite'

const here = new URL('.', import.meta.url).pathname

// The account page: web/ is the root, the bundle goes to web/dist, which the server serves at `/`.
export default defineConfig({
  root: here,
  base: '/',
  build: {
    outDir: `${here}dist`,
    emptyOutDir: true,
    target: 'es2022',
    // One small bundle; no CDN and no network at run time.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
})
