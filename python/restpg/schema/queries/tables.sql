-- Tables, views, materialized views, foreign tables and partitioned tables of the exposed schemas,
-- with their columns in attnum order. Keys come from keys.sql.
with rels as (
  select c.oid, n.nspname, c.relname, c.relkind
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  where n.nspname = any(%(schemas)s)
    and c.relkind in ('r', 'v', 'm', 'f', 'p')
    and not c.relispartition
),
cols as (
  select
    a.attrelid,
    json_agg(json_build_object(
      'name', a.attname,
      'description', d.description,
      'nullable', not a.attnotnull,
      -- Built-in types without modifiers (`character varying`), others as declared; a domain over a
      -- built-in type shows its base type.
      'data_type', case when t.typtype = 'd' and btn.nspname = 'pg_catalog' then format_type(t.typbasetype, null)
                        when tn.nspname = 'pg_catalog' then format_type(a.atttypid, null)
                        else format_type(a.atttypid, a.atttypmod) end,
      'nominal_type', case when tn.nspname = 'pg_catalog' then t.typname::text
                           else tn.nspname || '.' || t.typname end,
      'max_len', case when coalesce(bt.oid, t.oid) in ('bpchar'::regtype, 'varchar'::regtype)
                        and coalesce(nullif(t.typtypmod, -1), a.atttypmod) >= 0
                      then coalesce(nullif(t.typtypmod, -1), a.atttypmod) - 4 end,
      'default', pg_get_expr(ad.adbin, ad.adrelid),
      'enum_values', case when coalesce(bt.typtype, t.typtype) = 'e' then
        (select json_agg(e.enumlabel order by e.enumsortorder)
         from pg_enum e where e.enumtypid = coalesce(bt.oid, t.oid))
        else '[]' end,
      'generated', a.attgenerated <> ''
    ) order by a.attnum) as columns
  from pg_attribute a
  join rels r on r.oid = a.attrelid
  join pg_type t on t.oid = a.atttypid
  join pg_namespace tn on tn.oid = t.typnamespace
  left join pg_type bt on t.typtype = 'd' and bt.oid = t.typbasetype
  left join pg_namespace btn on btn.oid = bt.typnamespace
  left join pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum
  left join pg_description d
    on d.objoid = a.attrelid and d.classoid = 'pg_class'::regclass and d.objsubid = a.attnum
  where a.attnum > 0 and not a.attisdropped
  group by a.attrelid
)
select coalesce(json_agg(json_build_object(
  'oid', r.oid::int8,
  'schema', r.nspname,
  'name', r.relname,
  'kind', r.relkind,
  'description', d.description,
  -- Bits of pg_relation_is_updatable: 8 insert, 4 update, 16 delete. It accounts for auto-updatable
  -- views, INSTEAD OF triggers, DO INSTEAD rules and foreign data wrappers.
  'insertable', r.relkind in ('r', 'p') or (pg_relation_is_updatable(r.oid, true) & 8) = 8,
  'updatable', r.relkind in ('r', 'p') or (pg_relation_is_updatable(r.oid, true) & 4) = 4,
  'deletable', r.relkind in ('r', 'p') or (pg_relation_is_updatable(r.oid, true) & 16) = 16,
  'columns', coalesce(c.columns, '[]')
) order by r.nspname, r.relname), '[]')
from rels r
left join cols c on c.attrelid = r.oid
left join pg_description d
  on d.objoid = r.oid and d.classoid = 'pg_class'::regclass and d.objsubid = 0
