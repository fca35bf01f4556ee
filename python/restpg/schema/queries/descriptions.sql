-- catalogs: pg_namespace pg_class pg_description:pg_class
-- Comments on the relations of tables.sql (objsubid 0) and on their columns (objsubid: the column's
-- attnum), for the OpenAPI output. A query of their own so that a reload after a COMMENT ON TABLE,
-- VIEW or COLUMN runs this one alone, not columns.sql (see docs/schema-cache.md): one array per field,
-- null when there are none.
select json_build_object(
  'oid', array_agg(d.objoid::int8),
  'attnum', array_agg(d.objsubid),
  'description', array_agg(d.description)
)
from pg_description d
join pg_class c on c.oid = d.objoid
join pg_namespace n on n.oid = c.relnamespace
where d.classoid = 'pg_class'::regclass
  and n.nspname = any(%(schemas)s)
  and c.relkind in ('r', 'v', 'm', 'f', 'p')
  and not c.relispartition
having count(*) > 0
