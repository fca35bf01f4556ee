-- follows: pg_class pg_type pg_proc
-- members: pg_proc
-- Which functions routines.sql lists (`present`: its `procs`, by the same conditions) may read
-- otherwise than an earlier read of it saw (`changed`), so that a reload reads theirs alone (see
-- changes/columns.sql for `horizon` and `moved`).
-- A function is taken as changed when its own row may be newer, or the row of a type it takes or
-- returns (renamed; a table's row type renamed with its table), or of the relation whose row type that
-- is (its kind). A function dropped is no longer present; a type or relation cannot be dropped while a
-- function names it. Not followed (the `-- follows:` line): a schema renamed, and comments (one removed
-- deletes a row and leaves no trace); routines.sql is then read whole.
with
present as (
  select p.oid, p.xmin, p.prorettype, coalesce(p.proallargtypes, p.proargtypes::oid[]) as argtypes
  from pg_proc p
  join pg_namespace n on n.oid = p.pronamespace
  where n.nspname = any(%(schemas)s) and p.prokind in ('f', 'p')
),
new_types as materialized (
  select oid from pg_type
  where 'pg_type' = any(%(moved)s::text[]) and age(xmin) <= %(horizon)s::int4
  union
  select reltype from pg_class
  where 'pg_class' = any(%(moved)s::text[]) and age(xmin) <= %(horizon)s::int4 and reltype <> 0
),
changed as (
  select oid from present
  where 'pg_proc' = any(%(moved)s::text[]) and age(xmin) <= %(horizon)s::int4
  union
  select p.oid from present p
  where exists (select from new_types)
    and (p.prorettype in (select oid from new_types)
         or exists (select from unnest(p.argtypes) t(oid) where t.oid in (select oid from new_types)))
)
