-- Primary key, unique and foreign key constraints, and the rewrite rules of views (the view key
-- dependencies are read from them in Rust). Besides the exposed schemas this covers every relation a
-- view of the exposed schemas reads from, directly or through other views, whatever its schema.
with recursive exposed as (
  select c.oid
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  where n.nspname = any(%(schemas)s) and c.relkind in ('r', 'v', 'm', 'f', 'p')
),
-- (view, relation it reads from), following views of views.
view_sources (view_oid, source_oid) as (
  select distinct rw.ev_class, d.refobjid
  from pg_rewrite rw
  join exposed e on e.oid = rw.ev_class
  join pg_depend d on d.classid = 'pg_rewrite'::regclass and d.objid = rw.oid
    and d.refclassid = 'pg_class'::regclass and d.refobjid <> rw.ev_class
  where rw.rulename = '_RETURN'
  union
  select rw.ev_class, d.refobjid
  from view_sources vs
  join pg_rewrite rw on rw.ev_class = vs.source_oid and rw.rulename = '_RETURN'
  join pg_depend d on d.classid = 'pg_rewrite'::regclass and d.objid = rw.oid
    and d.refclassid = 'pg_class'::regclass and d.refobjid <> rw.ev_class
),
relevant as (
  select oid from exposed
  union
  select source_oid from view_sources
),
key_constraints as (
  select
    con.conname, con.contype, con.conrelid, con.conkey, con.confrelid, con.confkey
  from pg_constraint con
  where con.contype in ('p', 'u', 'f')
    and (con.conrelid in (select oid from relevant) or con.confrelid in (select oid from relevant))
),
views as (
  select rw.ev_class as oid, rw.ev_action
  from pg_rewrite rw
  where rw.rulename = '_RETURN'
    and rw.ev_class in (select oid from relevant)
)
select json_build_object(
  'constraints', coalesce((
    select json_agg(json_build_object(
      'name', k.conname,
      'type', k.contype,
      'rel', k.conrelid::int8,
      'schema', n.nspname,
      'table', c.relname,
      'columns', (select json_agg(a.attname order by u.ord)
                  from unnest(k.conkey) with ordinality u(attnum, ord)
                  join pg_attribute a on a.attrelid = k.conrelid and a.attnum = u.attnum),
      'attnums', to_json(k.conkey),
      'foreign_rel', nullif(k.confrelid, 0)::int8,
      'foreign_schema', fn.nspname,
      'foreign_table', fc.relname,
      'foreign_columns', (select json_agg(a.attname order by u.ord)
                          from unnest(k.confkey) with ordinality u(attnum, ord)
                          join pg_attribute a on a.attrelid = k.confrelid and a.attnum = u.attnum),
      'foreign_attnums', to_json(k.confkey)
    ) order by n.nspname, c.relname, k.conname)
    from key_constraints k
    join pg_class c on c.oid = k.conrelid
    join pg_namespace n on n.oid = c.relnamespace
    left join pg_class fc on fc.oid = k.confrelid
    left join pg_namespace fn on fn.oid = fc.relnamespace
  ), '[]'),
  'views', coalesce((
    select json_agg(json_build_object(
      'oid', v.oid::int8,
      'schema', n.nspname,
      'name', c.relname,
      'columns', (select json_agg(a.attname order by a.attnum)
                  from pg_attribute a
                  where a.attrelid = v.oid and a.attnum > 0 and not a.attisdropped),
      'rule', v.ev_action::text
    ) order by n.nspname, c.relname)
    from views v
    join pg_class c on c.oid = v.oid
    join pg_namespace n on n.oid = c.relnamespace
  ), '[]')
)
