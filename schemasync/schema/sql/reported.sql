-- Objects we list but never manage: aggregates and window functions, each with an MD5 of its signature
-- (views and materialized views: views.sql; extensions: extensions.sql; functions, procedures, triggers and
-- policies are managed: routines.sql, triggers.sql, policies.sql). Anything an extension owns is left out.
WITH ns AS (
  SELECT n.oid, n.nspname
  FROM pg_catalog.pg_namespace n
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\_toast%%' AND n.nspname NOT LIKE 'pg\_temp\_%%'
    AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY (%(schemas)s::text[]))
), ext AS (
  SELECT e.classid, e.objid FROM pg_catalog.pg_depend e WHERE e.deptype = 'e'
)
SELECT 'function', ns.nspname, p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')', NULL,
       pg_catalog.md5(p.oid::pg_catalog.regprocedure::text)
FROM pg_catalog.pg_proc p JOIN ns ON ns.oid = p.pronamespace
WHERE p.prokind IN ('a', 'w')
  AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND ext.objid = p.oid)
