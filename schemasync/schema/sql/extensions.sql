-- Installed extensions with their schema and version. Database-wide: read whatever schemas are inspected
-- (an extension of one name exists once per database, in whichever schema), plpgsql aside (every database
-- has it). `in_use`: an object outside any extension depends on one of its members (an index on its
-- operator class, a column of its type): PostgreSQL refuses to drop it then, so a prune leaves it alone.
SELECT x.extname, n.nspname, x.extversion,
       EXISTS (
         SELECT 1
         FROM pg_catalog.pg_depend m
         JOIN pg_catalog.pg_depend d ON d.refclassid = m.classid AND d.refobjid = m.objid
         WHERE m.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND m.refobjid = x.oid
           AND m.deptype = 'e' AND d.deptype IN ('n', 'a')
           -- the user's objects: relations (an index, a column's table), views' rules, functions, constraints,
           -- defaults and types; not the catalog rows an operator family's members are (pg_amop, pg_amproc)
           AND d.classid IN ('pg_catalog.pg_class'::pg_catalog.regclass, 'pg_catalog.pg_rewrite'::pg_catalog.regclass,
                             'pg_catalog.pg_proc'::pg_catalog.regclass, 'pg_catalog.pg_constraint'::pg_catalog.regclass,
                             'pg_catalog.pg_attrdef'::pg_catalog.regclass, 'pg_catalog.pg_type'::pg_catalog.regclass)
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend o
                           WHERE o.classid = d.classid AND o.objid = d.objid AND o.deptype = 'e')
       ) AS in_use
FROM pg_catalog.pg_extension x
JOIN pg_catalog.pg_namespace n ON n.oid = x.extnamespace
WHERE x.extname <> 'plpgsql'
