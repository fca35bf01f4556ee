-- catalogs: pg_namespace pg_class pg_type pg_proc pg_description:other
-- Functions and procedures of the exposed schemas (aggregates and window functions excluded), with
-- their input parameters in order (OUT/TABLE parameters only set out_params). Computed relationships are
-- inferred from these in Rust. With `only` (an oid array, null for all) these functions alone: a
-- reload's read of those that changed (changes/routines.sql names them; the core merges them into the
-- earlier result, and sorts them as here).
with procs as (
  select p.*, n.nspname
  from pg_proc p
  join pg_namespace n on n.oid = p.pronamespace
  where n.nspname = any(%(schemas)s) and p.prokind in ('f', 'p')
    and (%(only)s::oid[] is null or p.oid = any(%(only)s::oid[]))
),
params as (
  select
    p.oid,
    json_agg(json_build_object(
      'name', coalesce(a.name, ''),
      'data_type', format_type(a.typ, null),
      'has_default', a.input_idx > p.pronargs - p.pronargdefaults,
      'variadic', a.mode = 'v',
      'relation', case when t.typrelid <> 0 then json_build_object(
        'schema', tn.nspname, 'name', t.typname, 'kind', tc.relkind) end
    ) order by a.idx) filter (where a.mode in ('i', 'b', 'v')) as params,
    bool_or(a.mode in ('o', 'b', 't')) as has_out
  from procs p
  cross join lateral (
    select
      x.idx,
      x.typ,
      x.mode,
      p.proargnames[x.idx] as name,
      -- Position among the input parameters, for the trailing pronargdefaults.
      count(*) filter (where x.mode in ('i', 'b', 'v')) over (order by x.idx) as input_idx
    from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]),
                coalesce(p.proargmodes, array_fill('i'::"char", array[p.pronargs])))
         with ordinality as x(typ, mode, idx)
  ) a
  join pg_type t on t.oid = a.typ
  join pg_namespace tn on tn.oid = t.typnamespace
  left join pg_class tc on tc.oid = t.typrelid
  group by p.oid
)
select coalesce(json_agg(json_build_object(
  'oid', p.oid::int8,
  'schema', p.nspname,
  'name', p.proname,
  'kind', p.prokind,
  'description', d.description,
  'params', coalesce(pa.params, '[]'),
  'out_params', coalesce(pa.has_out, false),
  'return_type', json_build_object(
    'data_type', format_type(p.prorettype, null),
    'schema', rn.nspname,
    'name', rt.typname,
    'type_kind', rt.typtype,
    'relation_kind', rc.relkind
  ),
  'returns_set', p.proretset,
  'rows', p.prorows,
  'volatility', p.provolatile,
  'has_variadic', p.provariadic <> 0,
  'settings', coalesce(to_json(p.proconfig), '[]')
) order by p.nspname, p.proname, p.oid), '[]')
from procs p
left join params pa on pa.oid = p.oid
join pg_type rt on rt.oid = p.prorettype
join pg_namespace rn on rn.oid = rt.typnamespace
left join pg_class rc on rc.oid = rt.typrelid
left join pg_description d
  on d.objoid = p.oid and d.classoid = 'pg_proc'::regclass and d.objsubid = 0
