-- Comments and owners of the kinds whose own query reads neither: one row per object, (kind, schema, table,
-- name, argument types, owner, comment). Comments matter for views, materialized views, domains, composite
-- types, functions, procedures, triggers and policies (tables, columns and enums read theirs with their own
-- rows); owners for every kind the `owner` setting governs (partitions and column-owned sequences included,
-- the diff picks). One query for both, so the cost of either is one round trip. Extension-owned objects are
-- left out, as everywhere.
WITH ns AS (
  SELECT n.oid, n.nspname, n.nspowner
  FROM pg_catalog.pg_namespace n
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\_toast%%' AND n.nspname NOT LIKE 'pg\_temp\_%%'
    AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY (%(schemas)s::text[]))
)
SELECT 'schema', ns.nspname, NULL::text, '', '', pg_catalog.pg_get_userbyid(ns.nspowner)::text, NULL::text
FROM ns
WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                  WHERE e.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND e.objid = ns.oid
                    AND e.deptype = 'e')
UNION ALL
SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence'
                      ELSE 'table' END,
       ns.nspname, NULL, c.relname, '', pg_catalog.pg_get_userbyid(c.relowner)::text,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.obj_description(c.oid, 'pg_class') END
FROM pg_catalog.pg_class c
JOIN ns ON ns.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S')
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                  WHERE e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND e.objid = c.oid AND e.deptype = 'e')
UNION ALL
SELECT CASE t.typtype WHEN 'd' THEN 'domain' ELSE 'type' END, ns.nspname, NULL, t.typname, '',
       pg_catalog.pg_get_userbyid(t.typowner)::text,
       CASE WHEN t.typtype IN ('d', 'c') THEN pg_catalog.obj_description(t.oid, 'pg_type') END
FROM pg_catalog.pg_type t
JOIN ns ON ns.oid = t.typnamespace
LEFT JOIN pg_catalog.pg_class tc ON tc.oid = t.typrelid
WHERE (t.typtype IN ('e', 'd') OR (t.typtype = 'c' AND tc.relkind = 'c'))
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                  WHERE e.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND e.objid = t.oid AND e.deptype = 'e')
UNION ALL
SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END, ns.nspname, NULL, p.proname,
       pg_catalog.oidvectortypes(p.proargtypes), pg_catalog.pg_get_userbyid(p.proowner)::text,
       pg_catalog.obj_description(p.oid, 'pg_proc')
FROM pg_catalog.pg_proc p
JOIN ns ON ns.oid = p.pronamespace
WHERE p.prokind IN ('f', 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                  WHERE e.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND e.objid = p.oid AND e.deptype = 'e')
UNION ALL
SELECT 'trigger', ns.nspname, c.relname, t.tgname, '', NULL, pg_catalog.obj_description(t.oid, 'pg_trigger')
FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
JOIN ns ON ns.oid = c.relnamespace
WHERE NOT t.tgisinternal AND t.tgparentid = 0
  AND EXISTS (SELECT 1 FROM pg_catalog.pg_description d
              WHERE d.objoid = t.oid AND d.classoid = 'pg_catalog.pg_trigger'::pg_catalog.regclass)
UNION ALL
SELECT 'policy', ns.nspname, c.relname, pol.polname, '', NULL, pg_catalog.obj_description(pol.oid, 'pg_policy')
FROM pg_catalog.pg_policy pol
JOIN pg_catalog.pg_class c ON c.oid = pol.polrelid
JOIN ns ON ns.oid = c.relnamespace
WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_description d
              WHERE d.objoid = pol.oid AND d.classoid = 'pg_catalog.pg_policy'::pg_catalog.regclass)
