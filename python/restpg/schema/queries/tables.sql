-- Tables, views, materialized views, foreign tables and partitioned tables of the exposed schemas,
-- with their columns in attnum order. Keys come from keys.sql.
--
-- Written for large catalogs (see docs/schema-cache.md, "Performance"): type names and enum labels
-- are computed once per distinct type rather than once per column, defaults are deparsed without a
-- relation context unless they can reference columns (only generated columns do), and rows become
-- JSON through json_agg of a record, which costs about half of json_build_object per row.
with rels as (
  select c.oid, n.nspname, c.relname, c.relkind
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  where n.nspname = any(%(schemas)s)
    and c.relkind in ('r', 'v', 'm', 'f', 'p')
    and not c.relispartition
),
attrs as materialized (
  select a.attrelid, a.attnum, a.attname, a.attnotnull, a.atttypid, a.atttypmod, a.attgenerated
  from pg_attribute a
  join rels r on r.oid = a.attrelid
  where a.attnum > 0 and not a.attisdropped
),
-- Everything that depends only on the column's type and modifier.
types as (
  select
    x.atttypid,
    x.atttypmod,
    -- Built-in types without modifiers (`character varying`), others as declared; a domain over a
    -- built-in type shows its base type.
    case when t.typtype = 'd' and btn.nspname = 'pg_catalog' then format_type(t.typbasetype, null)
         when tn.nspname = 'pg_catalog' then format_type(x.atttypid, null)
         else format_type(x.atttypid, x.atttypmod) end as data_type,
    case when tn.nspname = 'pg_catalog' then t.typname::text
         else tn.nspname || '.' || t.typname end as nominal_type,
    case when coalesce(bt.oid, t.oid) in ('bpchar'::regtype, 'varchar'::regtype)
           and coalesce(nullif(t.typtypmod, -1), x.atttypmod) >= 0
         then coalesce(nullif(t.typtypmod, -1), x.atttypmod) - 4 end as max_len,
    case when coalesce(bt.typtype, t.typtype) = 'e' then coalesce(bt.oid, t.oid) end as enum_oid
  from (select distinct atttypid, atttypmod from attrs) x
  join pg_type t on t.oid = x.atttypid
  join pg_namespace tn on tn.oid = t.typnamespace
  left join pg_type bt on t.typtype = 'd' and bt.oid = t.typbasetype
  left join pg_namespace btn on btn.oid = bt.typnamespace
),
enums as (
  select e.enumtypid, array_agg(e.enumlabel order by e.enumsortorder) as labels
  from pg_enum e
  where e.enumtypid in (select enum_oid from types)
  group by e.enumtypid
),
cols as (
  select a.attrelid, json_agg(c order by a.attnum) as columns
  from attrs a
  join types ty on ty.atttypid = a.atttypid and ty.atttypmod = a.atttypmod
  left join enums en on en.enumtypid = ty.enum_oid
  left join pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum
  left join pg_description d
    on d.objoid = a.attrelid and d.classoid = 'pg_class'::regclass and d.objsubid = a.attnum
  -- The column object: a record, so json_agg names its keys after these aliases.
  cross join lateral (
    select
      a.attname as name,
      d.description,
      not a.attnotnull as nullable,
      ty.data_type,
      ty.nominal_type,
      ty.max_len,
      -- A plain default cannot reference columns, so it needs no relation to deparse against.
      pg_get_expr(ad.adbin, case when a.attgenerated <> '' then ad.adrelid else 0 end) as default,
      coalesce(en.labels, '{}') as enum_values,
      a.attgenerated <> '' as generated
  ) c
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
