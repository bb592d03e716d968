import { api } from '../api.ts'
import { field, form, h, screen } from '../dom.ts'
import type { App } from '../main.ts'

export function signInView(app: App): HTMLElement {
  return screen(
    'signin',
    'Sign in',
    form(
      async (values) => {
        await api('POST', '/auth/login', { username: values.username, password: values.password })
        await app.signedIn()
      },
      field('Username or email', 'username', {
        type: 'text',
        autocomplete: 'username',
        required: true,
        autocapitalize: 'none',
        spellcheck: 'false',
      }),
      field('Password', 'password', { type: 'password', autocomplete: 'current-password', required: true }),
      h('button', { type: 'submit' }, 'Sign in'),
    ),
    h('p', {}, 'No account yet? ', h('a', { href: '#/signup' }, 'Create one')),
  )
}
