-- The auth.* helpers of Neon's pg_session_jwt, in its fallback mode: they read the verified claims
-- restpg puts in request.jwt.claims (transaction-local, set in the same transaction as the query).
-- Installed only when the pg_session_jwt extension is not available: `auth` is not relocatable,
-- so the extension and these functions cannot live side by side.
CREATE SCHEMA IF NOT EXISTS auth;

CREATE OR REPLACE FUNCTION auth.session() RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT coalesce(nullif(current_setting('request.jwt.claims', true), '')::jsonb, 'null'::jsonb) $$;

CREATE OR REPLACE FUNCTION auth.jwt() RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT auth.session() $$;

CREATE OR REPLACE FUNCTION auth.user_id() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT CASE WHEN jsonb_typeof(auth.session() -> 'sub') = 'string' THEN auth.session() ->> 'sub' END
$$;

CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT CASE
    WHEN auth.user_id() ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'
    THEN auth.user_id()::uuid
  END
$$;

COMMENT ON FUNCTION auth.session() IS 'The verified JWT claims of the current request (restpg)';
COMMENT ON FUNCTION auth.user_id() IS 'The sub claim of the current request, as text (restpg)';
COMMENT ON FUNCTION auth.uid() IS 'The sub claim of the current request, as uuid, or NULL (restpg)';
