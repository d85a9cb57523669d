-- Range types (CREATE TYPE ... AS RANGE): the subtype, and its operator class and collation only when not the
-- subtype's defaults, the canonical and subtype_diff functions, the multirange type when not the default one
-- (PostgreSQL 14+). The
-- built-in ones live in pg_catalog and those an extension owns are left out.
SELECT n.nspname, t.typname, pg_catalog.format_type(r.rngsubtype, NULL),
       CASE WHEN oc.opcdefault THEN NULL
            ELSE pg_catalog.quote_ident(ocn.nspname) || '.' || pg_catalog.quote_ident(oc.opcname) END AS opclass,
       CASE WHEN co.oid IS NULL THEN NULL
            WHEN cn.nspname = 'pg_catalog' THEN pg_catalog.quote_ident(co.collname)
            ELSE pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname) END AS collation,
       CASE WHEN r.rngcanonical <> 0 THEN r.rngcanonical::pg_catalog.regproc::text END AS canonical,
       CASE WHEN r.rngsubdiff <> 0 THEN r.rngsubdiff::pg_catalog.regproc::text END AS subtype_diff,
       {multirange} AS multirange
FROM pg_catalog.pg_range r
JOIN pg_catalog.pg_type t ON t.oid = r.rngtypid
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
JOIN pg_catalog.pg_type st ON st.oid = r.rngsubtype
JOIN pg_catalog.pg_opclass oc ON oc.oid = r.rngsubopc
JOIN pg_catalog.pg_namespace ocn ON ocn.oid = oc.opcnamespace
LEFT JOIN pg_catalog.pg_collation co ON co.oid = r.rngcollation AND r.rngcollation <> st.typcollation
LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%%' AND n.nspname NOT LIKE 'pg\_temp\_%%'
  AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY (%(schemas)s::text[]))
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                  WHERE e.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND e.objid = t.oid AND e.deptype = 'e')
