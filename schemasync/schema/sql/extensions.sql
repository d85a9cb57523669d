-- Installed extensions with their schema and version. Database-wide: read whatever schemas are inspected
-- (an extension of one name exists once per database, in whichever schema), plpgsql aside (every database
-- has it). `in_use`: an object outside any extension, other than a function or procedure, depends on one
-- of its members (an index on its operator class, a column of its type): PostgreSQL refuses to drop it
-- then, so a prune leaves it alone. `routines`: the functions and procedures that depend on its members
-- (schema, name, argument types), which a prune may drop in the same plan (diff/extensions.py).
WITH uses AS (
  SELECT m.refobjid AS ext, d.classid, d.objid
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
)
SELECT x.extname, n.nspname, x.extversion,
       EXISTS (SELECT 1 FROM uses u WHERE u.ext = x.oid AND u.classid <> 'pg_catalog.pg_proc'::pg_catalog.regclass)
         AS in_use,
       ARRAY(SELECT DISTINCT ARRAY[pn.nspname::text, p.proname::text, pg_catalog.oidvectortypes(p.proargtypes)]
             FROM uses u
             JOIN pg_catalog.pg_proc p ON p.oid = u.objid
             JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
             WHERE u.ext = x.oid AND u.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
             ORDER BY 1) AS routines
FROM pg_catalog.pg_extension x
JOIN pg_catalog.pg_namespace n ON n.oid = x.extnamespace
WHERE x.extname <> 'plpgsql'
