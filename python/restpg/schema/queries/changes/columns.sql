-- follows: pg_class pg_attribute pg_type pg_attrdef pg_enum pg_proc
-- members: pg_class
-- Which relations columns.sql lists (`present`: its `rels`, by the same conditions) may have other
-- columns than an earlier read of it saw (`changed`), so that a reload reads theirs alone (see
-- `introspect.reread_catalog`; `catalog.ChangeQuery` adds the select that returns the two).
-- `horizon` is how many transactions back (as age(xmin) counts them) the oldest one still running when
-- that read's snapshot was taken is (`catalog.HORIZON_AGE`): every row written by an older one was
-- committed or rolled back then, and that read saw it.
-- A relation is taken as changed when any row columns.sql reads about it may be newer: its own, its
-- columns', their types' (with a domain's base type and an enum's labels), and the relations, types
-- and functions its defaults and its domains' defaults name (pg_get_expr writes their names) or its
-- identity columns' sequences. Rows that read saw may be taken too (the transactions running then):
-- read again for nothing. A row deleted leaves no trace, but none is deleted without one of those
-- written: a dropped column or default updates its pg_attribute row, a dropped relation is no longer
-- present. (Each of these is pinned by a case of tests/io/test_reread_changes.py.) Not followed (the
-- `-- follows:` line): a schema renamed, which renames types and sequences anywhere; columns.sql is
-- then read whole. `-- members:` the relations come and go only with a pg_class row.
with
-- The parts of the catalog whose state changed since that read (`moved`, a text array of the
-- fingerprint's parts): a catalog whose part did not change has no row written since, and is not
-- searched (the conditions on `moved` are constants when planned).
present as (
  select c.oid, 'pg_class' = any(%(moved)s::text[]) and age(c.xmin) <= %(horizon)s::int4 as written
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  where n.nspname = any(%(schemas)s)
    and c.relkind in ('r', 'v', 'm', 'f', 'p')
    and not c.relispartition
),
new_classes as materialized (
  select oid from pg_class
  where 'pg_class' = any(%(moved)s::text[]) and age(xmin) <= %(horizon)s::int4
),
-- An enum's label added or renamed writes a pg_enum row, not its type's.
new_types as materialized (
  select oid from pg_type
  where 'pg_type' = any(%(moved)s::text[]) and age(xmin) <= %(horizon)s::int4
  union
  select enumtypid from pg_enum
  where 'pg_enum' = any(%(moved)s::text[]) and age(xmin) <= %(horizon)s::int4
),
new_procs as materialized (
  select oid from pg_proc
  where 'pg_proc' = any(%(moved)s::text[]) and age(xmin) <= %(horizon)s::int4
),
-- Defaults and domains that name a new object (through pg_depend's index on the referenced object).
naming as materialized (
  select d.classid, d.objid
  from pg_depend d
  where (d.refclassid = 'pg_class'::regclass and d.refobjid = any(array(select oid from new_classes)))
     or (d.refclassid = 'pg_type'::regclass and d.refobjid = any(array(select oid from new_types)))
     or (d.refclassid = 'pg_proc'::regclass and d.refobjid = any(array(select oid from new_procs)))
),
-- Types a column may now describe otherwise: new (a type renamed renames its array type too), or a
-- domain over a new type or whose default names a new object (pg_depend records both).
column_types as materialized (
  select oid from new_types
  union
  select objid from naming where classid = 'pg_type'::regclass
),
changed as (
  select oid from present where written
  union
  select a.attrelid
  from pg_attribute a
  where ('pg_attribute' = any(%(moved)s::text[]) or exists (select from column_types))
    and a.attrelid in (select oid from present)
    and a.attnum > 0
    and (('pg_attribute' = any(%(moved)s::text[]) and age(a.xmin) <= %(horizon)s::int4)
         or a.atttypid in (select oid from column_types))
  union
  -- (A default set, replaced or dropped writes its column's pg_attribute row, atthasdef, too.)
  select ad.adrelid
  from pg_attrdef ad
  where exists (select from naming where classid = 'pg_attrdef'::regclass)
    and ad.adrelid in (select oid from present)
    and ad.oid in (select objid from naming where classid = 'pg_attrdef'::regclass)
  union
  -- An identity column's default is `nextval('<its sequence>')`: the sequence renamed or moved.
  select d.refobjid
  from pg_depend d
  where d.classid = 'pg_class'::regclass
    and d.objid = any(array(select oid from new_classes))
    and d.refclassid = 'pg_class'::regclass
    and d.deptype = 'i'
    and d.refobjid in (select oid from present)
)
