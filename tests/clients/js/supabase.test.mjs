import { PostgrestClient } from '@supabase/postgrest-js'
import { apiUrl, clientSuite } from './suite.mjs'

clientSuite('@supabase/postgrest-js', ({ token } = {}) =>
  new PostgrestClient(apiUrl(), {
    schema: 'test',
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  }),
)
