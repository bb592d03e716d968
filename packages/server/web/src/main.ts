/**
 * The account page: decides on load whether this browser is signed in (GET /auth/me), then shows one
 * screen at a time, chosen by the URL hash (#/profile, #/sessions, #/activity, …), and moves the focus to its heading.
 */

import { api, ApiError, onSessionLost, type User } from './api.ts'
import { clearMessages, h, notice, showError } from './dom.ts'
import { activityView } from './views/activity.ts'
import { adminView } from './views/admin.ts'
import { passwordView } from './views/password.ts'
import { profileView } from './views/profile.ts'
import { sessionsView } from './views/sessions.ts'
import { signInView } from './views/signin.ts'
import { signUpView } from './views/signup.ts'

/** What the views can ask of the page. */
export interface App {
  readonly user: User | null
  /** Shows `route`; `message` goes to the status region after the screen is drawn. */
  go(route: string, message?: string): void
  /** After sign-in or sign-up: loads the user and shows the profile. */
  signedIn(message?: string): Promise<void>
  /** After sign-out (or a session that ended): forgets the user and shows the sign-in screen. */
  signedOut(message?: string): void
}

type View = (app: App) => HTMLElement
const PUBLIC: Record<string, View> = { signin: signInView, signup: signUpView }
const PRIVATE: Record<string, View> = {
  profile: profileView,
  sessions: sessionsView,
  activity: activityView,
  password: passwordView,
  admin: adminView,
}
const NAV: [string, string][] = [
  ['profile', 'Profile'],
  ['sessions', 'Sessions'],
  ['activity', 'Recent activity'],
  ['password', 'Change password'],
]

let user: User | null = null
let first = true
/** The hash last drawn, so a navigation that fires both popstate and hashchange draws once. */
let shown = ''

const app: App = {
  get user() {
    return user
  },
  go(route, message) {
    if (location.hash !== `#/${route}`) history.pushState(null, '', `#/${route}`)
    render()
    if (message) notice(message)
  },
  async signedIn(message) {
    user = await api<User>('GET', '/auth/me')
    app.go('profile', message)
  },
  signedOut(message) {
    user = null
    app.go('signin', message)
  },
}

function routeName(): string {
  const name = location.hash.replace(/^#\/?/, '')
  if (!user) return Object.hasOwn(PUBLIC, name) ? name : 'signin'
  if (name === 'admin' && !user.admin) return 'profile'
  return Object.hasOwn(PRIVATE, name) ? name : 'profile'
}

function renderNav(route: string): void {
  const link = (name: string, label: string) =>
    h('a', { href: `#/${name}`, 'aria-current': name === route ? 'page' : undefined, 'data-testid': `nav-${name}` }, label)
  const nav = document.getElementById('nav')!
  if (!user) {
    nav.replaceChildren(link('signin', 'Sign in'), link('signup', 'Sign up'))
    return
  }
  const signOut = h('button', { type: 'button', class: 'secondary', 'data-testid': 'sign-out' }, 'Sign out')
  signOut.addEventListener('click', async () => {
    signOut.disabled = true
    try {
      await api('POST', '/auth/logout')
      app.signedOut('You have signed out.')
    } catch (err) {
      showError(err)
      signOut.disabled = false
    }
  })
  nav.replaceChildren(...NAV.map(([name, label]) => link(name, label)), ...(user.admin ? [link('admin', 'Users')] : []), signOut)
}

function render(): void {
  const route = routeName()
  if (location.hash !== `#/${route}`) history.replaceState(null, '', `#/${route}`)
  shown = location.hash
  clearMessages()
  renderNav(route)
  const view = (user ? PRIVATE : PUBLIC)[route]!
  const screen = view(app)
  document.getElementById('view')!.replaceChildren(screen)
  // The users table needs more width than the forms (style.css).
  document.getElementById('main')!.dataset.screen = route
  document.title = `${screen.querySelector('h1')?.textContent ?? 'Account'} · Keycard`
  if (!first) screen.querySelector('h1')?.focus()
  first = false
}

/** Why the session ended, by code; anything else shows the server's message. */
const ENDED: Partial<Record<ApiError['code'], string>> = {
  KEYCARD_TOKEN_REVOKED:
    'You are no longer signed in: this session was signed out, revoked from another device, or ended by a password change. Please sign in again.',
  KEYCARD_JWT_EXPIRED: 'You are no longer signed in: the session has expired. Please sign in again.',
  KEYCARD_NO_AUTHORIZATION: 'You are no longer signed in: this browser no longer holds the sign-in cookies. Please sign in again.',
}

onSessionLost((error) => {
  if (!user) return
  app.signedOut()
  showError(ENDED[error.code] ?? `You are no longer signed in: ${error.message} Please sign in again.`)
})
// Only `#/route` hashes are screens; others (the skip link's `#main`) are in-page jumps.
const onNavigate = () => {
  if (location.hash !== shown && (location.hash === '' || location.hash.startsWith('#/'))) render()
}
window.addEventListener('popstate', onNavigate)
window.addEventListener('hashchange', onNavigate)

/** Said on load when the server could not be asked at all: the sign-in form alone would hide why. */
const UNASKED = new Set<ApiError['code']>(['NETWORK_ERROR', 'ORIGIN_NOT_ALLOWED', 'API_URL_INVALID'])
let unasked: ApiError | undefined
try {
  user = await api<User>('GET', '/auth/me')
} catch (err) {
  user = null // 401: not signed in; anything else is worth a try at signing in again
  if (err instanceof ApiError && UNASKED.has(err.code)) unasked = err
}
render()
if (unasked) showError(unasked)
