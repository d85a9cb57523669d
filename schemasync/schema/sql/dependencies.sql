-- The dependency graph (issue 17): which views, materialized views, policies, triggers, functions and
-- column defaults use which relation (and which column of it), or which function, from pg_depend. A
-- view's uses are recorded on its rewrite rule. What PostgreSQL refuses to change under a dependent (a
-- column's type, a column or a view dropped, a function dropped: then also a CHECK or an index calling it)
-- is what the plan drops and re-creates
-- around the change. `ref_kind` says what is used: 'relation' (a table or view, or one column of it),
-- 'row type' (a function with a SQL-standard body using a table's row type: no column of that table may
-- change type under it), 'signature' (a string-bodied function whose signature names the row type:
-- PostgreSQL lets the table change under it) or 'function' (`ref_name` is then name(argument types)).
-- Extension-owned dependents are left out; an edge is kept when either end is in the inspected schemas.
WITH ns AS (
  SELECT n.oid FROM pg_catalog.pg_namespace n
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\_toast%%' AND n.nspname NOT LIKE 'pg\_temp\_%%'
), edges AS (
  -- each part starts from the user's objects, so the catalog's own thousands of rows are never scanned
  SELECT CASE v.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END AS kind,
         v.relnamespace AS nsp, v.relname::text AS name, NULL::text AS table_name, v.oid AS dep_oid,
         'pg_catalog.pg_class'::pg_catalog.regclass AS dep_class, d.refclassid, d.refobjid, d.refobjsubid,
         FALSE AS sql_body
  FROM pg_catalog.pg_class v
  JOIN ns ON ns.oid = v.relnamespace
  JOIN pg_catalog.pg_rewrite rw ON rw.ev_class = v.oid
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = rw.oid
  WHERE v.relkind IN ('v', 'm') AND d.deptype = 'n'
    AND d.refclassid IN ('pg_catalog.pg_class'::pg_catalog.regclass, 'pg_catalog.pg_proc'::pg_catalog.regclass)
    AND d.refobjid <> v.oid
  UNION ALL
  SELECT 'policy', t.relnamespace, pol.polname::text, t.relname::text, pol.oid,
         'pg_catalog.pg_policy'::pg_catalog.regclass, d.refclassid, d.refobjid, d.refobjsubid, FALSE
  FROM pg_catalog.pg_policy pol
  JOIN pg_catalog.pg_class t ON t.oid = pol.polrelid
  JOIN ns ON ns.oid = t.relnamespace
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_policy'::pg_catalog.regclass AND d.objid = pol.oid
  WHERE (d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjsubid > 0)
     OR d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
  UNION ALL
  SELECT 'trigger', t.relnamespace, tg.tgname::text, t.relname::text, tg.oid,
         'pg_catalog.pg_trigger'::pg_catalog.regclass, d.refclassid, d.refobjid, d.refobjsubid, FALSE
  FROM pg_catalog.pg_trigger tg
  JOIN pg_catalog.pg_class t ON t.oid = tg.tgrelid
  JOIN ns ON ns.oid = t.relnamespace
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_trigger'::pg_catalog.regclass AND d.objid = tg.oid
  WHERE NOT tg.tgisinternal
    AND ((d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjsubid > 0)
         OR d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass)
  UNION ALL
  SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END, p.pronamespace,
         p.proname || '(' || pg_catalog.oidvectortypes(p.proargtypes) || ')', NULL, p.oid,
         'pg_catalog.pg_proc'::pg_catalog.regclass, d.refclassid, d.refobjid, d.refobjsubid,
         {sql_body}
  FROM pg_catalog.pg_proc p
  JOIN ns ON ns.oid = p.pronamespace
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid
  WHERE d.deptype = 'n'
    AND d.refclassid IN ('pg_catalog.pg_class'::pg_catalog.regclass, 'pg_catalog.pg_proc'::pg_catalog.regclass,
                         'pg_catalog.pg_type'::pg_catalog.regclass)
    AND d.refobjid <> p.oid
  UNION ALL
  -- a column default calling a function (the function cannot be dropped under it)
  SELECT 'default', t.relnamespace, a.attname::text, t.relname::text, ad.oid,
         'pg_catalog.pg_attrdef'::pg_catalog.regclass, d.refclassid, d.refobjid, d.refobjsubid, FALSE
  FROM pg_catalog.pg_attrdef ad
  JOIN pg_catalog.pg_class t ON t.oid = ad.adrelid
  JOIN ns ON ns.oid = t.relnamespace
  JOIN pg_catalog.pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND d.objid = ad.oid
  WHERE d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.deptype = 'n'
  UNION ALL
  -- a table's CHECK constraint calling a function
  SELECT 'check', t.relnamespace, con.conname::text, t.relname::text, con.oid,
         'pg_catalog.pg_constraint'::pg_catalog.regclass, d.refclassid, d.refobjid, d.refobjsubid, FALSE
  FROM pg_catalog.pg_constraint con
  JOIN pg_catalog.pg_class t ON t.oid = con.conrelid
  JOIN ns ON ns.oid = t.relnamespace
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass AND d.objid = con.oid
  WHERE con.contype = 'c' AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.deptype = 'n'
  UNION ALL
  -- a table's index calling a function (in an expression or its predicate)
  SELECT 'index', t.relnamespace, i.relname::text, t.relname::text, i.oid,
         'pg_catalog.pg_class'::pg_catalog.regclass, d.refclassid, d.refobjid, d.refobjsubid, FALSE
  FROM pg_catalog.pg_index x
  JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
  JOIN pg_catalog.pg_class t ON t.oid = x.indrelid
  JOIN ns ON ns.oid = t.relnamespace
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = i.oid
  WHERE t.relkind IN ('r', 'p') AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.deptype = 'n'
), refs AS (
  -- what each edge uses, as (schema, name, column, ref_kind)
  SELECT e.*, rn.nspname AS ref_schema, r.relname::text AS ref_name, a.attname::text AS ref_column,
         'relation' AS ref_kind
  FROM edges e
  JOIN pg_catalog.pg_class r ON r.oid = e.refobjid
  JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace
  LEFT JOIN pg_catalog.pg_attribute a ON e.refobjsubid > 0 AND a.attrelid = r.oid AND a.attnum = e.refobjsubid
  WHERE e.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND r.relkind IN ('r', 'p', 'v', 'm', 'f')
  UNION ALL
  SELECT e.*, rn.nspname, r.relname::text, NULL::text, CASE WHEN e.sql_body THEN 'row type' ELSE 'signature' END
  FROM edges e
  JOIN pg_catalog.pg_type ty ON ty.oid = e.refobjid AND ty.typrelid <> 0
  JOIN pg_catalog.pg_class r ON r.oid = ty.typrelid
  JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace
  WHERE e.refclassid = 'pg_catalog.pg_type'::pg_catalog.regclass AND r.relkind IN ('r', 'p', 'f')
  UNION ALL
  SELECT e.*, fn.nspname, f.proname || '(' || pg_catalog.oidvectortypes(f.proargtypes) || ')', NULL::text,
         'function'
  FROM edges e
  JOIN pg_catalog.pg_proc f ON f.oid = e.refobjid
  JOIN pg_catalog.pg_namespace fn ON fn.oid = f.pronamespace
  WHERE e.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
    AND fn.nspname NOT IN ('pg_catalog', 'information_schema')
)
SELECT DISTINCT e.kind, dn.nspname, e.name, e.table_name, e.ref_schema, e.ref_name, e.ref_column, e.ref_kind
FROM refs e
JOIN pg_catalog.pg_namespace dn ON dn.oid = e.nsp
WHERE (%(schemas)s::text[] IS NULL OR dn.nspname = ANY (%(schemas)s::text[]) OR e.ref_schema = ANY (%(schemas)s::text[]))
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend x
                  WHERE x.classid = e.dep_class AND x.objid = e.dep_oid AND x.deptype = 'e')
