-- Views and materialized views (issue 17): the definition as pg_get_viewdef prints it (with the session's
-- empty search path every relation comes out schema-qualified), the output columns with their types,
-- the options (check_option, security_barrier, a materialized view's storage parameters) and whether a
-- materialized view holds data. Those an extension owns are left out.
SELECT c.oid, ns.nspname, c.relname, c.relkind = 'm' AS materialized,
       pg_catalog.pg_get_viewdef(c.oid) AS definition,
       ARRAY(SELECT a.attname FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) AS column_names,
       ARRAY(SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) AS column_types,
       COALESCE(c.reloptions, '{}'::text[]) AS options,
       c.relispopulated
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm')
  AND ns.nspname NOT IN ('pg_catalog', 'information_schema')
  AND ns.nspname NOT LIKE 'pg\_toast%%' AND ns.nspname NOT LIKE 'pg\_temp\_%%'
  AND (%(schemas)s::text[] IS NULL OR ns.nspname = ANY (%(schemas)s::text[]))
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                  WHERE e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND e.objid = c.oid AND e.deptype = 'e')
