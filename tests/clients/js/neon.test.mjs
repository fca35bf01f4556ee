import { NeonPostgrestClient, fetchWithToken } from '@neondatabase/postgrest-js'
import { apiUrl, clientSuite } from './suite.mjs'

// Neon's client takes the token from a provider on each request (fetchWithToken), as neon-js does.
clientSuite('@neondatabase/postgrest-js', ({ token } = {}) =>
  new NeonPostgrestClient({
    dataApiUrl: apiUrl(),
    options: {
      db: { schema: 'test' },
      global: token ? { fetch: fetchWithToken(async () => token) } : {},
    },
  }),
)
