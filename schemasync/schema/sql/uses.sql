-- What has to exist before an object can be created (issue 17: the creation order of types, tables, views
-- and routines): the functions a table's defaults, generated columns, checks, exclusion constraints, indexes
-- and partition key call, and those a domain's default and checks call; the functions, relations and types
-- (domains, enums, composites) a view or materialized view uses; the same for a function or procedure. PostgreSQL records the last only for SQL-standard bodies
-- (BEGIN ATOMIC, RETURN) and argument defaults: a string body is text it keeps verbatim (`schema/uses.py`
-- reads a SQL one). Routines are named by their argument types (`oidvectortypes`, as `routines.sql`).
-- Extension-owned objects at either end are left out.
WITH ns AS (
  SELECT n.oid FROM pg_catalog.pg_namespace n
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\_toast%%' AND n.nspname NOT LIKE 'pg\_temp\_%%'
    AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY (%(schemas)s::text[]))
), edges AS (
  -- each part starts from the user's objects, so the catalog's own thousands of rows are never scanned
  SELECT c.oid AS rel, NULL::oid AS proc, NULL::oid AS typ, d.refclassid, d.refobjid
  FROM pg_catalog.pg_class c
  JOIN ns ON ns.oid = c.relnamespace
  JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = c.oid
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND d.objid = ad.oid
  WHERE c.relkind IN ('r', 'p') AND d.deptype = 'n' AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
  UNION ALL
  SELECT c.oid, NULL, NULL, d.refclassid, d.refobjid
  FROM pg_catalog.pg_class c
  JOIN ns ON ns.oid = c.relnamespace
  JOIN pg_catalog.pg_constraint con ON con.conrelid = c.oid
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass AND d.objid = con.oid
  WHERE c.relkind IN ('r', 'p') AND d.deptype = 'n' AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
  UNION ALL
  SELECT c.oid, NULL, NULL, d.refclassid, d.refobjid
  FROM pg_catalog.pg_class c
  JOIN ns ON ns.oid = c.relnamespace
  JOIN pg_catalog.pg_index i ON i.indrelid = c.oid
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = i.indexrelid
  WHERE c.relkind IN ('r', 'p', 'm') AND d.deptype = 'n' AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
  UNION ALL
  SELECT c.oid, NULL, NULL, d.refclassid, d.refobjid  -- a partition key's expressions
  FROM pg_catalog.pg_class c
  JOIN ns ON ns.oid = c.relnamespace
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
  WHERE c.relkind = 'p' AND d.deptype = 'n' AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
  UNION ALL
  SELECT v.oid, NULL, NULL, d.refclassid, d.refobjid
  FROM pg_catalog.pg_class v
  JOIN ns ON ns.oid = v.relnamespace
  JOIN pg_catalog.pg_rewrite rw ON rw.ev_class = v.oid
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = rw.oid
  WHERE v.relkind IN ('v', 'm') AND d.deptype = 'n' AND d.refobjid <> v.oid
  UNION ALL
  SELECT NULL, NULL, t.oid, d.refclassid, d.refobjid  -- a domain's default
  FROM pg_catalog.pg_type t
  JOIN ns ON ns.oid = t.typnamespace
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND d.objid = t.oid
  WHERE t.typtype = 'd' AND d.deptype = 'n' AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
  UNION ALL
  SELECT NULL, NULL, t.oid, d.refclassid, d.refobjid  -- a domain's checks
  FROM pg_catalog.pg_type t
  JOIN ns ON ns.oid = t.typnamespace
  JOIN pg_catalog.pg_constraint con ON con.contypid = t.oid
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass AND d.objid = con.oid
  WHERE t.typtype = 'd' AND d.deptype = 'n' AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
  UNION ALL
  SELECT NULL, p.oid, NULL, d.refclassid, d.refobjid
  FROM pg_catalog.pg_proc p
  JOIN ns ON ns.oid = p.pronamespace
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid
  WHERE p.prokind IN ('f', 'p') AND d.deptype = 'n'
), named AS (
  SELECT CASE WHEN e.proc IS NOT NULL THEN 'routine' WHEN e.typ IS NOT NULL THEN 'type'
              WHEN c.relkind IN ('v', 'm') THEN 'view' ELSE 'table' END AS kind,
         n.nspname AS schema, COALESCE(p.proname, c.relname, t.typname)::text AS name,
         COALESCE(pg_catalog.oidvectortypes(p.proargtypes), '') AS arguments,
         COALESCE(e.proc, e.rel, e.typ) AS oid,
         CASE WHEN e.proc IS NOT NULL THEN 'pg_catalog.pg_proc' WHEN e.typ IS NOT NULL THEN 'pg_catalog.pg_type'
              ELSE 'pg_catalog.pg_class' END::pg_catalog.regclass AS class,
         e.refclassid, e.refobjid
  FROM edges e
  LEFT JOIN pg_catalog.pg_proc p ON p.oid = e.proc
  LEFT JOIN pg_catalog.pg_class c ON c.oid = e.rel
  LEFT JOIN pg_catalog.pg_type t ON t.oid = e.typ
  JOIN pg_catalog.pg_namespace n ON n.oid = COALESCE(p.pronamespace, c.relnamespace, t.typnamespace)
)
-- a type used is named by its element type for an array; a table's or view's row type is that relation
SELECT DISTINCT u.kind, u.schema, u.name, u.arguments,
       CASE WHEN rp.oid IS NOT NULL THEN 'routine'
            WHEN COALESCE(rc.relkind, rtc.relkind) IN ('v', 'm') THEN 'view'
            WHEN COALESCE(rc.relkind, rtc.relkind) IN ('r', 'p', 'f') THEN 'table' ELSE 'type' END,
       rn.nspname, COALESCE(rp.proname, rc.relname, rt.typname)::text,
       COALESCE(pg_catalog.oidvectortypes(rp.proargtypes), '')
FROM named u
LEFT JOIN pg_catalog.pg_proc rp
  ON u.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND rp.oid = u.refobjid AND rp.prokind IN ('f', 'p')
LEFT JOIN pg_catalog.pg_class rc
  ON u.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND rc.oid = u.refobjid AND u.kind <> 'table'
     AND rc.relkind IN ('r', 'p', 'v', 'm', 'f')
LEFT JOIN pg_catalog.pg_type rt0
  ON u.refclassid = 'pg_catalog.pg_type'::pg_catalog.regclass AND rt0.oid = u.refobjid AND u.kind <> 'table'
LEFT JOIN pg_catalog.pg_type rt
  ON rt.oid = CASE WHEN rt0.typcategory = 'A' AND rt0.typelem <> 0 THEN rt0.typelem ELSE rt0.oid END
     AND rt.typtype IN ('d', 'e', 'c')
LEFT JOIN pg_catalog.pg_class rtc ON rtc.oid = rt.typrelid AND rt.typrelid <> 0
JOIN pg_catalog.pg_namespace rn ON rn.oid = COALESCE(rp.pronamespace, rc.relnamespace, rt.typnamespace)
WHERE (rp.oid IS NOT NULL OR rc.oid IS NOT NULL OR rt.oid IS NOT NULL)
  AND rn.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend x
                  WHERE x.classid = u.class AND x.objid = u.oid AND x.deptype = 'e')
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend x
                  WHERE x.classid = u.refclassid AND x.objid = u.refobjid AND x.deptype = 'e')
