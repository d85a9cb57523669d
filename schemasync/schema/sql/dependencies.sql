-- The dependency graph (issue 17): which views, materialized views, policies, triggers and functions
-- use which relation (and which column of it), from pg_depend. A view's uses are recorded on its
-- rewrite rule. What PostgreSQL refuses to change under a dependent (a column's type, a column or a
-- view dropped) is what the plan drops and re-creates around the change. Extension-owned dependents
-- are left out; an edge is kept when either end is in the inspected schemas.
WITH ns AS (
  SELECT n.oid FROM pg_catalog.pg_namespace n
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\_toast%%' AND n.nspname NOT LIKE 'pg\_temp\_%%'
), edges AS (
  -- each part starts from the user's objects, so the catalog's own thousands of rows are never scanned
  SELECT CASE v.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END AS kind,
         v.relnamespace AS nsp, v.relname::text AS name, NULL::text AS table_name, v.oid AS dep_oid,
         'pg_catalog.pg_class'::pg_catalog.regclass AS dep_class, d.refobjid, d.refobjsubid
  FROM pg_catalog.pg_class v
  JOIN ns ON ns.oid = v.relnamespace
  JOIN pg_catalog.pg_rewrite rw ON rw.ev_class = v.oid
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = rw.oid
  WHERE v.relkind IN ('v', 'm') AND d.deptype = 'n'
    AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid <> v.oid
  UNION ALL
  SELECT 'policy', t.relnamespace, pol.polname::text, t.relname::text, pol.oid,
         'pg_catalog.pg_policy'::pg_catalog.regclass, d.refobjid, d.refobjsubid
  FROM pg_catalog.pg_policy pol
  JOIN pg_catalog.pg_class t ON t.oid = pol.polrelid
  JOIN ns ON ns.oid = t.relnamespace
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_policy'::pg_catalog.regclass AND d.objid = pol.oid
  WHERE d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjsubid > 0
  UNION ALL
  SELECT 'trigger', t.relnamespace, tg.tgname::text, t.relname::text, tg.oid,
         'pg_catalog.pg_trigger'::pg_catalog.regclass, d.refobjid, d.refobjsubid
  FROM pg_catalog.pg_trigger tg
  JOIN pg_catalog.pg_class t ON t.oid = tg.tgrelid
  JOIN ns ON ns.oid = t.relnamespace
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_trigger'::pg_catalog.regclass AND d.objid = tg.oid
  WHERE NOT tg.tgisinternal
    AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjsubid > 0
  UNION ALL
  SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END, p.pronamespace,
         p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')', NULL, p.oid,
         'pg_catalog.pg_proc'::pg_catalog.regclass, d.refobjid, d.refobjsubid
  FROM pg_catalog.pg_proc p
  JOIN ns ON ns.oid = p.pronamespace
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid
  WHERE d.deptype = 'n' AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
)
SELECT DISTINCT e.kind, dn.nspname, e.name, e.table_name, rn.nspname, r.relname, a.attname
FROM edges e
JOIN pg_catalog.pg_namespace dn ON dn.oid = e.nsp
JOIN pg_catalog.pg_class r ON r.oid = e.refobjid
JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace
LEFT JOIN pg_catalog.pg_attribute a ON e.refobjsubid > 0 AND a.attrelid = r.oid AND a.attnum = e.refobjsubid
WHERE r.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND (%(schemas)s::text[] IS NULL OR dn.nspname = ANY (%(schemas)s::text[]) OR rn.nspname = ANY (%(schemas)s::text[]))
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend x
                  WHERE x.classid = e.dep_class AND x.objid = e.dep_oid AND x.deptype = 'e')
