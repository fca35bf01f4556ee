-- SECURITY DEFINER functions in the exposed schemas that an API role may call: they run with
-- their owner's rights, so RLS on the tables they touch is judged against the owner.
SELECT
  n.nspname AS schema,
  p.proname AS name,
  pg_get_function_identity_arguments(p.oid) AS arguments,
  pg_get_userbyid(p.proowner) AS owner,
  coalesce(
    (SELECT array_agg(r.rolname ORDER BY r.rolname) FROM pg_roles r
     WHERE r.rolname = ANY (%(roles)s::text[])
       AND has_schema_privilege(r.oid, n.oid, 'USAGE')
       AND has_function_privilege(r.oid, p.oid, 'EXECUTE')),
    '{}'
  ) AS callable_by,
  coalesce(
    EXISTS (SELECT 1 FROM unnest(p.proconfig) setting WHERE setting LIKE 'search_path=%%'),
    false
  ) AS search_path_set
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = ANY (%(schemas)s::text[])
  AND p.prosecdef
ORDER BY 1, 2, 3;
