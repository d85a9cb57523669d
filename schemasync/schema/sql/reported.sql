-- Objects we list but never manage: aggregates and policies (views and materialized views: views.sql;
-- extensions: extensions.sql; functions, procedures and triggers are managed: routines.sql, triggers.sql),
-- each with an MD5 of its definition so a changed body can be noticed. Anything an extension owns is left out.
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
UNION ALL
SELECT 'policy', ns.nspname, pol.polname, c.relname,
       pg_catalog.md5(pol.polcmd::text || ' ' || pol.polpermissive::text || ' ' || COALESCE((SELECT pg_catalog.string_agg(COALESCE(ro.rolname, 'public'), ',' ORDER BY ro.rolname)
                                                        FROM pg_catalog.unnest(pol.polroles) r(oid)
                                                        LEFT JOIN pg_catalog.pg_roles ro ON ro.oid = r.oid), '') || ' '
                      || COALESCE(pg_catalog.pg_get_expr(pol.polqual, pol.polrelid), '') || ' '
                      || COALESCE(pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid), ''))
FROM pg_catalog.pg_policy pol
JOIN pg_catalog.pg_class c ON c.oid = pol.polrelid
JOIN ns ON ns.oid = c.relnamespace
