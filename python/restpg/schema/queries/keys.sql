-- catalogs: pg_namespace pg_class pg_attribute pg_constraint pg_rewrite
-- (pg_depend, read for the views' sources, changes only with pg_rewrite.)
-- Primary key, unique and foreign key constraints, and the rewrite rules of views (the view key
-- dependencies are read from them in Rust). Besides the exposed schemas this covers every relation a
-- view of the exposed schemas reads from, directly or through other views, whatever its schema.
--
-- Written for large catalogs (see docs/schema-cache.md, "Performance"). A constraint's column names are
-- sent only when its relation is not one tables.sql lists (a view's source or a referenced table in
-- another schema, a partition): the core names the others from columns.sql's columns by attnum, and
-- looking names up here was ~40% of this query (a sorted scan of pg_attribute for every constrained
-- relation). The few sent are looked up per column in pg_attribute's index. Constraints are sent as one
-- array per field, unsorted (19-22% less time than one JSON object per constraint in order); views, few,
-- as rows through json_agg of a record, which costs about half of json_build_object per row.
with recursive exposed as (
  select c.oid, c.relispartition
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
key_constraints as materialized (
  select con.conname, con.contype, con.conrelid, con.conkey, nullif(con.confrelid, 0) as confrelid, con.confkey
  from pg_constraint con
  where con.contype in ('p', 'u', 'f')
    and (con.conrelid in (select oid from relevant) or con.confrelid in (select oid from relevant))
),
-- The relations tables.sql lists (its `rels`, by the same conditions).
listed as (
  select oid from exposed where not relispartition
),
constraint_rows as (
  select
    k.conname as name,
    k.contype as type,
    k.conrelid::int8 as rel,
    n.nspname as schema,
    c.relname as table,
    case when k.conrelid not in (select oid from listed) then
      array(select (select a.attname from pg_attribute a where a.attrelid = k.conrelid and a.attnum = u.attnum)
            from unnest(k.conkey) with ordinality u(attnum, ord) order by u.ord)
    end as columns,
    k.conkey as attnums,
    k.confrelid::int8 as foreign_rel,
    fn.nspname as foreign_schema,
    fc.relname as foreign_table,
    -- (null for no foreign key: `not in` a null oid is null.)
    case when k.confrelid not in (select oid from listed) then
      array(select (select a.attname from pg_attribute a where a.attrelid = k.confrelid and a.attnum = u.attnum)
            from unnest(k.confkey) with ordinality u(attnum, ord) order by u.ord)
    end as foreign_columns,
    k.confkey as foreign_attnums
  from key_constraints k
  join pg_class c on c.oid = k.conrelid
  join pg_namespace n on n.oid = c.relnamespace
  left join pg_class fc on fc.oid = k.confrelid
  left join pg_namespace fn on fn.oid = fc.relnamespace
),
view_rows as (
  select
    rw.ev_class::int8 as oid,
    n.nspname as schema,
    c.relname as name,
    array(select a.attname from pg_attribute a
          where a.attrelid = rw.ev_class and a.attnum > 0 and not a.attisdropped
          order by a.attnum) as columns,
    rw.ev_action::text as rule
  from pg_rewrite rw
  join pg_class c on c.oid = rw.ev_class
  join pg_namespace n on n.oid = c.relnamespace
  where rw.rulename = '_RETURN'
    and rw.ev_class in (select oid from relevant)
)
select json_build_object(
  -- One array per field (arrays of arrays as JSON: they need not be rectangular), null when there are
  -- none; Rust sorts them.
  'constraints', (
    select json_build_object(
      'name', array_agg(k.name),
      'kind', array_agg(k.type),
      'rel', array_agg(k.rel),
      'schema', array_agg(k.schema),
      'table', array_agg(k.table),
      'columns', json_agg(k.columns),
      'attnums', json_agg(k.attnums),
      'foreign_rel', array_agg(k.foreign_rel),
      'foreign_schema', array_agg(k.foreign_schema),
      'foreign_table', array_agg(k.foreign_table),
      'foreign_columns', json_agg(k.foreign_columns),
      'foreign_attnums', json_agg(k.foreign_attnums)
    )
    from constraint_rows k
    having count(*) > 0
  ),
  'views', coalesce((
    select json_agg(v order by v.schema, v.name) from view_rows v
  ), '[]')
)
