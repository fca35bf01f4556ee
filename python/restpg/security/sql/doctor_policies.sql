-- Policies on tables in the exposed schemas, with their expressions as PostgreSQL deparses them.
SELECT
  n.nspname AS schema,
  c.relname AS table_name,
  p.polname AS name,
  coalesce(pg_get_expr(p.polqual, p.polrelid), '') AS using_expr,
  coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') AS check_expr
FROM pg_policy p
JOIN pg_class c ON c.oid = p.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY (%(schemas)s::text[])
ORDER BY 1, 2, 3;
