-- Functions and procedures (not aggregates or window functions), each known by its signature, with the
-- complete CREATE OR REPLACE statement PostgreSQL writes for it. Anything an extension owns is left out, and
-- so are the functions PostgreSQL makes as part of a type (a range's and multirange's constructors: 'i').
SELECT n.nspname, p.proname,
       pg_catalog.oidvectortypes(p.proargtypes) AS arguments,
       CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END AS kind,
       CASE p.prokind WHEN 'p' THEN NULL ELSE pg_catalog.pg_get_function_result(p.oid) END AS result,
       pg_catalog.pg_get_function_arguments(p.oid) AS parameters,
       pg_catalog.pg_get_functiondef(p.oid) AS definition,
       pg_catalog.has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE p.prokind IN ('f', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%%' AND n.nspname NOT LIKE 'pg\_temp\_%%'
  AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY (%(schemas)s::text[]))
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                  WHERE e.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND e.objid = p.oid AND e.deptype IN ('e', 'i'))
