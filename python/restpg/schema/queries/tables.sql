-- catalogs: pg_namespace pg_class pg_rewrite pg_trigger
-- catalogs: pg_foreign_table pg_foreign_server pg_foreign_data_wrapper
-- (pg_rewrite and pg_trigger for pg_relation_is_updatable, the foreign ones for a wrapper's handler.)
-- Tables, views, materialized views, foreign tables and partitioned tables of the exposed schemas: the
-- relations. Their columns come from columns.sql, keys from keys.sql, comments from descriptions.sql.
--
-- A query of its own, apart from the columns, so that a read side by side spreads evenly over its two
-- connections (the columns are ~90% of what the two took together; see docs/schema-cache.md). The
-- relations come in no particular order: the core sorts them (sorting their JSON here took 2-5% of the
-- query).
with rels as (
  select c.oid, n.nspname, c.relname, c.relkind
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  where n.nspname = any(%(schemas)s)
    and c.relkind in ('r', 'v', 'm', 'f', 'p')
    and not c.relispartition
)
select coalesce(json_agg(json_build_object(
  'oid', r.oid::int8,
  'schema', r.nspname,
  'name', r.relname,
  'kind', r.relkind,
  'insertable', (u.events & 8) = 8,
  'updatable', (u.events & 4) = 4,
  'deletable', (u.events & 16) = 16
)), '[]')
from rels r
-- Bits of pg_relation_is_updatable: 8 insert, 4 update, 16 delete. It accounts for auto-updatable
-- views, INSTEAD OF triggers, DO INSTEAD rules and foreign data wrappers. Asked once per view or
-- foreign table (it analyses the view's query each time: ~50 us a call), never for a table; nor for a
-- foreign table whose wrapper has no handler (one that only validates options), where it raises an
-- error and would fail the whole read: such a table can be neither read nor written.
cross join lateral (
  select case when r.relkind in ('r', 'p') then 28
              when r.relkind = 'f' and not exists (
                select from pg_foreign_table ft
                join pg_foreign_server fs on fs.oid = ft.ftserver
                join pg_foreign_data_wrapper w on w.oid = fs.srvfdw
                where ft.ftrelid = r.oid and w.fdwhandler <> 0) then 0
              else pg_relation_is_updatable(r.oid, true) end as events
) u
