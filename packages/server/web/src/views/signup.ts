import { api, ApiError } from '../api.ts'
import { field, form, h, screen } from '../dom.ts'
import type { App } from '../main.ts'

export function signUpView(app: App): HTMLElement {
  return screen(
    'signup',
    'Sign up',
    form(
      async (values) => {
        // Refused here, before anything is sent: a typo in a password nobody can see would lock the account.
        if (values.password !== values.confirm_password)
          throw new ApiError(0, 'PASSWORDS_DIFFER', 'The two passwords do not match.', 'confirm_password')
        const body: Record<string, string> = { username: values.username ?? '', password: values.password ?? '' }
        if (values.email) body.email = values.email
        await api('POST', '/auth/register', body)
        await app.signedIn('Welcome! Your account is ready.')
      },
      field(
        'Username',
        'username',
        { type: 'text', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' },
        "3 to 32 letters, digits, '_', '.' or '-'.",
      ),
      field('Email (optional)', 'email', { type: 'email', autocomplete: 'email' }),
      field(
        'Password',
        'password',
        { type: 'password', autocomplete: 'new-password', required: true, minlength: 8 },
        'At least 8 characters.',
      ),
      field('Confirm password', 'confirm_password', { type: 'password', autocomplete: 'new-password', required: true }),
      h('button', { type: 'submit' }, 'Sign up'),
    ),
    h('p', {}, 'Already have an account? ', h('a', { href: '#/signin' }, 'Sign in')),
  )
}
