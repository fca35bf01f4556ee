-- Every table, view, materialized view and foreign table in the exposed schemas, with its RLS
-- state and what each API role may do on it. Roles that do not exist are left out.
SELECT
  n.nspname AS schema,
  c.relname AS name,
  CASE c.relkind
    WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view'
    WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table'
  END AS kind,
  c.relrowsecurity AS rls_enabled,
  (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)::int AS policies,
  coalesce(
    c.reloptions && ARRAY['security_invoker=true', 'security_invoker=on', 'security_invoker=1'],
    false
  ) AS security_invoker,
  coalesce((
    SELECT jsonb_object_agg(r.rolname, jsonb_build_object(
      'select', has_table_privilege(r.oid, c.oid, 'SELECT'),
      'insert', has_table_privilege(r.oid, c.oid, 'INSERT'),
      'update', has_table_privilege(r.oid, c.oid, 'UPDATE'),
      'delete', has_table_privilege(r.oid, c.oid, 'DELETE'),
      'bypass_rls', r.rolbypassrls OR r.oid = c.relowner
    ))
    FROM pg_roles r
    WHERE r.rolname = ANY (%(roles)s::text[])
      AND has_schema_privilege(r.oid, n.oid, 'USAGE')
  ), '{}'::jsonb) AS privileges
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY (%(schemas)s::text[])
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND NOT c.relispartition
ORDER BY 1, 2;
