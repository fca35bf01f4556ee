// The shared client suite: every postgrest-js flavour runs the same requests against a live restpg.
// `connect(options)` returns a PostgrestClient for the `test` schema; options.token adds a bearer token.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'

const ids = (rows) => rows.map((row) => row.id)

// Data: tests/fixtures/20_data.sql (people 1..6, items 1..15, authors/books/tags, bookings, documents).
const FILTERS = [
  ['eq', (q) => q.eq('name', 'Ada'), [1]],
  ['neq', (q) => q.neq('mood', 'happy'), [2, 3, 6]],
  ['gt', (q) => q.gt('age', 36), [4, 6]],
  ['gte', (q) => q.gte('age', 36), [1, 4, 6]],
  ['lt', (q) => q.lt('age', 17), [5]],
  ['lte', (q) => q.lte('age', 17), [2, 5]],
  ['like', (q) => q.like('name', '%e%'), [5]],
  ['ilike', (q) => q.ilike('name', 'e%'), [5]],
  ['is null', (q) => q.is('nickname', null), [2, 4]],
  ['is true', (q) => q.is('active', true), [1, 3, 5]],
  ['in', (q) => q.in('id', [1, 3, 99]), [1, 3]],
  ['in with reserved characters', (q) => q.in('name', ['Ada', 'a,b', '(x)']), [1]],
  ['contains array', (q) => q.contains('tags', ['math']), [1, 3]],
  ['contains json', (q) => q.contains('data', { city: 'London' }), [1, 5]],
  ['containedBy', (q) => q.containedBy('tags', ['math', 'poetry', 'music']), [1, 3, 4]],
  ['overlaps', (q) => q.overlaps('tags', ['art', 'sports']), [2, 5]],
  ['not', (q) => q.not('born', 'is', null).lt('born', '1990-01-01'), [1, 6]],
  ['or', (q) => q.or('age.lt.15,name.eq.Bob'), [2, 5]],
  ['or with and', (q) => q.or('and(age.gt.30,active.is.true),id.eq.2'), [1, 2]],
  ['match', (q) => q.match({ mood: 'happy', active: true }), [1, 5]],
  ['filter', (q) => q.filter('age', 'gt', '40'), [4, 6]],
  ['likeAnyOf', (q) => q.likeAnyOf('name', ['A%', 'B%']), [1, 2]],
  ['ilikeAllOf', (q) => q.ilikeAllOf('name', ['%e%', '%v%']), [5]],
  ['json path', (q) => q.eq('data->>city', 'Paris'), [2]],
]

export function clientSuite(name, connect) {
  describe(name, () => {
    const db = connect()

    describe('filters', () => {
      for (const [label, build, expected] of FILTERS) {
        it(label, async () => {
          const { data, error } = await build(db.from('people').select('id')).order('id')
          assert.equal(error, null)
          assert.deepEqual(ids(data), expected)
        })
      }

      it('ranges', async () => {
        const where = async (build) => ids((await build(db.from('bookings').select('id')).order('id')).data)
        assert.deepEqual(await where((q) => q.rangeGt('seats', '[5,8]')), [3, 4])
        assert.deepEqual(await where((q) => q.rangeAdjacent('seats', '[5,10)')), [1, 3])
        assert.deepEqual(await where((q) => q.rangeLt('seats', '[11,12)')), [1, 2])
        assert.deepEqual(await where((q) => q.rangeGte('seats', '[10,12)')), [3, 4])
        assert.deepEqual(await where((q) => q.rangeLte('seats', '[0,10)')), [1, 2])
      })

      it('text search', async () => {
        const search = async (query, options) =>
          ids((await db.from('documents').select('id').textSearch('body_tsv', query, options).order('id')).data)
        assert.deepEqual(await search("'cat' & 'rat'", { config: 'english' }), [1])
        assert.deepEqual(await search('lazy dog', { type: 'plain' }), [2])
        assert.deepEqual(await search('fat cats', { type: 'phrase' }), [1])
        assert.deepEqual(await search('"brown fox" -cat', { type: 'websearch' }), [2])
      })
    })

    it('selects, renames and casts columns', async () => {
      const { data } = await db.from('people').select('id, years:age::text').eq('id', 1)
      assert.deepEqual(data, [{ id: 1, years: '36' }])
    })

    it('embeds to-many, to-one and many-to-many', async () => {
      const authors = await db
        .from('authors')
        .select('name, books(title)')
        .eq('id', 2)
        .order('title', { referencedTable: 'books' })
      assert.deepEqual(authors.data, [{ name: 'Stanisław Lem', books: [{ title: 'Solaris' }, { title: 'The Cyberiad' }] }])
      const book = await db.from('books').select('title, author:authors(name)').eq('id', 5)
      assert.deepEqual(book.data, [{ title: 'Kindred', author: { name: 'Octavia E. Butler' } }])
      const tags = await db.from('books').select('id, tags(name)').eq('id', 4)
      assert.deepEqual(tags.data, [{ id: 4, tags: [{ name: 'satire' }] }])
      const inner = await db.from('authors').select('id, books!inner(id)').eq('books.published', 1979)
      assert.deepEqual(inner.data, [{ id: 3, books: [{ id: 5 }] }])
      const limited = await db.from('authors').select('id, books(id)').eq('id', 1).limit(1, { referencedTable: 'books' })
      assert.equal(limited.data[0].books.length, 1)
    })

    it('orders, limits and ranges', async () => {
      const desc = await db.from('items').select('id').order('id', { ascending: false }).limit(3)
      assert.deepEqual(ids(desc.data), [15, 14, 13])
      const page = await db.from('items').select('id').order('id').range(3, 5)
      assert.deepEqual(ids(page.data), [4, 5, 6])
      const nulls = await db.from('people').select('id').order('age', { nullsFirst: true }).order('id').limit(1)
      assert.deepEqual(ids(nulls.data), [5])
    })

    it('counts', async () => {
      const exact = await db.from('items').select('id', { count: 'exact' }).order('id').range(0, 4)
      assert.equal(exact.count, 15)
      assert.equal(exact.status, 206)
      assert.equal(exact.data.length, 5)
      const head = await db.from('items').select('*', { count: 'exact', head: true }).lt('id', 4)
      assert.equal(head.count, 3)
      assert.equal(head.data, null)
      const planned = await db.from('items').select('id', { count: 'planned' }).limit(1)
      assert.ok(planned.count > 0)
    })

    it('single and maybeSingle', async () => {
      const one = await db.from('people').select('name').eq('id', 3).single()
      assert.deepEqual(one.data, { name: 'Chloé' })
      const maybe = await db.from('people').select('name').eq('id', 99).maybeSingle()
      assert.equal(maybe.error, null)
      assert.equal(maybe.data, null)
      const many = await db.from('people').select('name').gt('id', 1).single()
      assert.equal(many.status, 406)
      assert.equal(many.error.code, 'PGRST116')
    })

    it('csv', async () => {
      const { data } = await db.from('authors').select('id,name').lte('id', 2).order('id').csv()
      assert.equal(data, 'id,name\n1,"Ursula K. Le Guin"\n2,"Stanisław Lem"')
    })

    it('reports errors', async () => {
      const missing = await db.from('nope').select()
      assert.equal(missing.status, 404)
      assert.equal(missing.error.code, 'PGRST205')
      assert.equal(missing.error.message, "Could not find the table 'test.nope' in the schema cache")
      const column = await db.from('people').select('nope')
      assert.equal(column.status, 400)
      assert.equal(column.error.code, '42703')
      const relation = await db.from('people').select('id, books(*)')
      assert.equal(relation.error.code, 'PGRST200')
    })

    // The server runs with db-plan-enabled; without it the same requests are 406 PGRST107.
    it('explain()', async () => {
      const text = await db.from('people').select('id').eq('id', 1).explain()
      assert.equal(text.error, null)
      assert.equal(text.status, 200)
      assert.match(text.data, /^Aggregate/)
      assert.match(text.data, /people/)

      const json = await db.from('people').select('id').explain({ format: 'json', analyze: true, verbose: true })
      assert.equal(json.error, null)
      const [plan] = json.data
      assert.equal(plan.Plan['Node Type'], 'Aggregate')
      assert.ok(plan.Plan.Output.length > 0)
      assert.ok(plan['Execution Time'] >= 0)

      // explain() after single() plans the singular body (`for="application/vnd.pgrst.object+json"`).
      const single = await db.from('people').select('id').single().explain({ format: 'json', verbose: true })
      assert.equal(single.error, null)
      assert.ok(single.data[0].Plan.Output.some((output) => output.includes('-> 0')))

      const call = await db.rpc('add', { a: 1, b: 2 }).explain({ format: 'json' })
      assert.equal(call.error, null)
      assert.equal(call.data[0].Plan['Node Type'], 'Aggregate')
    })

    it('explain() of a write with analyze changes nothing', async () => {
      const { data, error } = await db
        .from('write_items')
        .update({ name: 'explained' })
        .eq('id', 3)
        .explain({ format: 'json', analyze: true })
      assert.equal(error, null)
      assert.ok(data[0]['Execution Time'] >= 0)
      const after = await db.from('write_items').select('name').eq('id', 3)
      assert.deepEqual(after.data, [{ name: 'three' }])
    })

    it('abortSignal', async () => {
      const controller = new AbortController()
      controller.abort()
      const { data, error } = await db.from('people').select('id').abortSignal(controller.signal)
      assert.equal(data, null)
      assert.match(error.message, /AbortError/)
    })

    it('sends the bearer token', async () => {
      const reader = connect({ token: process.env.RESTPG_READER_TOKEN })
      const notes = await reader.from('openapi_notes').select('*')
      assert.deepEqual([notes.error, notes.data], [null, []])
      const denied = await reader.from('people').select('id')
      assert.equal(denied.status, 403)
      assert.equal(denied.error.code, '42501')
      const invalid = await connect({ token: 'not-a-jwt' }).from('people').select('id')
      assert.equal(invalid.status, 401)
      assert.equal(invalid.error.code, 'PGRST301')
    })

    describe('writes (rolled back by the server)', () => {
      it('insert with returning', async () => {
        const one = await db.from('write_items').insert({ name: 'four', qty: 4 }).select('name, qty').single()
        assert.deepEqual([one.status, one.data], [201, { name: 'four', qty: 4 }])
        const minimal = await db.from('write_items').insert({ name: 'five' })
        assert.deepEqual([minimal.status, minimal.data, minimal.error], [201, null, null])
        const counted = await db
          .from('write_items')
          .insert([{ name: 'a' }, { name: 'b', qty: 7 }], { count: 'exact', defaultToNull: false })
          .select('name, qty')
        assert.equal(counted.count, 2)
        assert.deepEqual(counted.data, [{ name: 'a', qty: 1 }, { name: 'b', qty: 7 }])
      })

      it('upsert', async () => {
        const merged = await db.from('write_items').upsert({ id: 1, name: 'uno', qty: 5 }).select()
        assert.deepEqual(merged.data, [{ id: 1, name: 'uno', qty: 5, note: null }])
        const byCode = await db.from('write_codes').upsert({ code: 'x', label: 'new' }, { onConflict: 'code' }).select('code, label')
        assert.deepEqual(byCode.data, [{ code: 'x', label: 'new' }])
        const ignored = await db
          .from('write_codes')
          .upsert({ code: 'x', label: 'no' }, { onConflict: 'code', ignoreDuplicates: true })
          .select()
        assert.deepEqual(ignored.data, [])
      })

      it('update and delete', async () => {
        const updated = await db.from('write_items').update({ qty: 9 }).eq('id', 2).select()
        assert.deepEqual(updated.data, [{ id: 2, name: 'two', qty: 9, note: null }])
        const deleted = await db.from('write_items').delete({ count: 'exact' }).eq('id', 3).select('id')
        assert.deepEqual([deleted.data, deleted.count], [[{ id: 3 }], 1])
        const none = await db.from('write_items').update({ qty: 1 }).eq('id', 999).select()
        assert.deepEqual(none.data, [])
      })

      it('write errors', async () => {
        const check = await db.from('write_items').insert({ name: 'bad', qty: -1 })
        assert.deepEqual([check.status, check.error.code], [400, '23514'])
        const denied = await db.from('write_locked').insert({ id: 1 })
        assert.equal(denied.error.code, '42501')
        const column = await db.from('write_items').insert({ nope: 1 })
        assert.deepEqual([column.status, column.error.code], [400, 'PGRST204'])
      })
    })

    it('calls functions', async () => {
      assert.deepEqual((await db.rpc('add', { a: 1, b: 2 })).data, 3)
      assert.deepEqual((await db.rpc('add', { a: 1 }, { get: true })).data, 11)
      assert.deepEqual((await db.rpc('greet', { name: 'Ann' }, { get: true })).data, 'Hello, Ann')
      assert.deepEqual((await db.rpc('total', { nums: [1, 2, 3] })).data, 6)
      const head = await db.rpc('greet', {}, { head: true })
      assert.deepEqual([head.status, head.data], [200, null])
      const missing = await db.rpc('nope', {})
      assert.equal(missing.status, 404)
      assert.equal(missing.error.code, 'PGRST202')
    })

    it('reads another schema', async () => {
      const { data } = await db.schema('v2').from('items').select('label').order('id')
      assert.deepEqual(data, [{ label: 'v2 first' }, { label: 'v2 second' }])
    })
  })
}

export function apiUrl() {
  const url = process.env.RESTPG_URL
  if (!url) throw new Error('RESTPG_URL is not set: run these through tests/clients/test_postgrest_js.py')
  return url
}
