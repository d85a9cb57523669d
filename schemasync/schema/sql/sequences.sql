-- Standalone sequences. A sequence that is an identity column's (dependency 'i'), or that a column
-- owns ('a') and uses in its default (a serial), is part of that column and is left out. A sequence
-- owned by a column that does not use it keeps the owner in owned_by (same schema by rule).
SELECT n.nspname, c.relname,
       pg_catalog.format_type(s.seqtypid, NULL) AS data_type,
       s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcycle, s.seqcache,
       (SELECT oc.relname || '.' || oa.attname
          FROM pg_catalog.pg_depend o
          JOIN pg_catalog.pg_class oc ON oc.oid = o.refobjid
          JOIN pg_catalog.pg_attribute oa ON oa.attrelid = o.refobjid AND oa.attnum = o.refobjsubid
         WHERE o.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND o.objid = c.oid
           AND o.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND o.refobjsubid > 0
           AND o.deptype = 'a'
         LIMIT 1) AS owned_by
FROM pg_catalog.pg_sequence s
JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%%' AND n.nspname NOT LIKE 'pg\_temp\_%%'
  AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY (%(schemas)s::text[]))
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                  WHERE e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND e.objid = c.oid AND e.deptype = 'e')
  AND NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_depend o
        WHERE o.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND o.objid = c.oid
          AND o.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND o.refobjsubid > 0
          AND (o.deptype = 'i'
               OR (o.deptype = 'a' AND EXISTS (
                     SELECT 1 FROM pg_catalog.pg_attrdef ad
                     JOIN pg_catalog.pg_depend u
                       ON u.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND u.objid = ad.oid
                      AND u.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND u.refobjid = c.oid
                     WHERE ad.adrelid = o.refobjid AND ad.adnum = o.refobjsubid))))
