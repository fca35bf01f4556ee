-- Tell every restpg (and PostgREST) worker to reload its schema cache after any DDL.
-- {channel} is filled in as a quoted literal by the caller.
CREATE SCHEMA IF NOT EXISTS restpg;

CREATE OR REPLACE FUNCTION restpg.notify_schema_reload() RETURNS event_trigger
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM pg_notify({channel}, 'reload schema');
END
$$;

COMMENT ON FUNCTION restpg.notify_schema_reload() IS 'Event trigger: NOTIFY the API to reload its schema cache';
