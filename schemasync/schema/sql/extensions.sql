-- Installed extensions with their schema and version. Database-wide: read whatever schemas are inspected
-- (an extension of one name exists once per database, in whichever schema), plpgsql aside (every database
-- has it). The objects outside any extension that depend on one of its members make PostgreSQL refuse
-- DROP EXTENSION, so a prune drops one only when it drops all of them in the same plan (diff/extensions.py):
-- `routines`: the functions and procedures that use it (schema, name, argument types); `users`: the
-- tables, views and types that do, each as (kind, schema, relation or type, column or index or '') with
-- kind `relation` (a view's query, a constraint), `column` (its type), `default` (a column's), `index`
-- (its operator class or expression) or `type` (a domain or composite type); `in_use`: any other user,
-- which keeps the extension.
WITH uses AS (
  SELECT m.refobjid AS ext, d.classid, d.objid, d.objsubid
  FROM pg_catalog.pg_depend m
  JOIN pg_catalog.pg_depend d ON d.refclassid = m.classid AND d.refobjid = m.objid
  WHERE m.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
    AND m.deptype = 'e' AND d.deptype IN ('n', 'a')
    -- the user's objects: relations (an index, a column's table), views' rules, functions, constraints,
    -- defaults and types; not the catalog rows an operator family's members are (pg_amop, pg_amproc)
    AND d.classid IN ('pg_catalog.pg_class'::pg_catalog.regclass, 'pg_catalog.pg_rewrite'::pg_catalog.regclass,
                      'pg_catalog.pg_proc'::pg_catalog.regclass, 'pg_catalog.pg_constraint'::pg_catalog.regclass,
                      'pg_catalog.pg_attrdef'::pg_catalog.regclass, 'pg_catalog.pg_type'::pg_catalog.regclass)
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend o
                    WHERE o.classid = d.classid AND o.objid = d.objid AND o.deptype = 'e')
), users AS (
  SELECT u.ext, u.classid,
         CASE WHEN c.relkind = 'c' OR co.contypid <> 0 OR t.oid IS NOT NULL THEN 'type'
              WHEN c.relkind = 'i' THEN 'index'
              WHEN ad.oid IS NOT NULL THEN 'default'
              WHEN c.relkind IN ('r', 'p') AND u.objsubid > 0 THEN 'column'
              WHEN c.relkind IN ('r', 'p', 'v', 'm', 'f') OR rw.oid IS NOT NULL OR co.conrelid <> 0 THEN 'relation'
         END AS kind,
         COALESCE(i.indrelid, rw.ev_class, NULLIF(co.conrelid, 0), ad.adrelid,
                  CASE WHEN c.relkind IN ('r', 'p', 'v', 'm', 'f') THEN c.oid END) AS rel,
         COALESCE(t.oid, NULLIF(co.contypid, 0), CASE WHEN c.relkind = 'c' THEN c.reltype END) AS typ,
         CASE WHEN c.relkind = 'i' THEN c.relname
              WHEN ad.oid IS NOT NULL THEN (SELECT a.attname FROM pg_catalog.pg_attribute a
                                            WHERE a.attrelid = ad.adrelid AND a.attnum = ad.adnum)
              WHEN c.relkind IN ('r', 'p') AND u.objsubid > 0
                THEN (SELECT a.attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum = u.objsubid)
              ELSE '' END AS sub
  FROM uses u
  LEFT JOIN pg_catalog.pg_class c ON u.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.oid = u.objid
  LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid
  LEFT JOIN pg_catalog.pg_rewrite rw ON u.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND rw.oid = u.objid
  LEFT JOIN pg_catalog.pg_constraint co
    ON u.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass AND co.oid = u.objid
  LEFT JOIN pg_catalog.pg_attrdef ad ON u.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND ad.oid = u.objid
  LEFT JOIN pg_catalog.pg_type t ON u.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND t.oid = u.objid
  WHERE u.classid <> 'pg_catalog.pg_proc'::pg_catalog.regclass
)
SELECT x.extname, n.nspname, x.extversion,
       EXISTS (SELECT 1 FROM users w WHERE w.ext = x.oid AND w.kind IS NULL) AS in_use,
       ARRAY(SELECT DISTINCT ARRAY[pn.nspname::text, p.proname::text, pg_catalog.oidvectortypes(p.proargtypes)]
             FROM uses u
             JOIN pg_catalog.pg_proc p ON p.oid = u.objid
             JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
             WHERE u.ext = x.oid AND u.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
             ORDER BY 1) AS routines,
       ARRAY(SELECT DISTINCT ARRAY[w.kind, COALESCE(rn.nspname, tn.nspname)::text,
                                   COALESCE(r.relname, ty.typname)::text, w.sub::text]
             FROM users w
             LEFT JOIN pg_catalog.pg_class r ON r.oid = w.rel
             LEFT JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace
             LEFT JOIN pg_catalog.pg_type ty ON ty.oid = w.typ
             LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = ty.typnamespace
             WHERE w.ext = x.oid AND w.kind IS NOT NULL
             ORDER BY 1) AS users
FROM pg_catalog.pg_extension x
JOIN pg_catalog.pg_namespace n ON n.oid = x.extnamespace
WHERE x.extname <> 'plpgsql'
