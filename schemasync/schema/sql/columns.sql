-- Columns of the tables above, in ordinal order. The collation is given only when it is not the
-- type's own default, ready to paste after COLLATE (quoted; schema-qualified outside pg_catalog). A column's
-- privileges (pg_attribute.attacl, the owner's aside) come as [grantee, privilege, grantable] triples, read here
-- rather than in grants.sql so that a look scans pg_attribute once.
SELECT a.attrelid, a.attname,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
       a.attnotnull,
       a.attidentity,
       a.attgenerated,
       pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) AS expression,
       CASE WHEN co.oid IS NULL THEN NULL
            WHEN cn.nspname = 'pg_catalog' THEN pg_catalog.quote_ident(co.collname)
            ELSE pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname) END AS collation,
       d.description,
       sq.seqstart, sq.seqincrement, sq.seqmin, sq.seqmax, sq.seqcache, sq.seqcycle,
       pg_catalog.format_type(sq.seqtypid, NULL) AS seqtype,
       CASE WHEN a.attacl IS NOT NULL THEN
         ARRAY(SELECT ARRAY[COALESCE(g.rolname, 'public'), x.privilege_type, x.is_grantable::text]
               FROM pg_catalog.aclexplode(a.attacl) AS x
               LEFT JOIN pg_catalog.pg_roles g ON g.oid = x.grantee AND x.grantee <> 0
               WHERE x.grantee <> c.relowner) END AS acl
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation AND a.attcollation <> t.typcollation
LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
LEFT JOIN pg_catalog.pg_description d
       ON d.objoid = a.attrelid AND d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = a.attnum
-- an identity column's own sequence (internal dependency 'i' on the column), for its options
LEFT JOIN pg_catalog.pg_depend sd
       ON a.attidentity <> '' AND sd.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND sd.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND sd.refobjid = a.attrelid
      AND sd.refobjsubid = a.attnum AND sd.deptype = 'i'
LEFT JOIN pg_catalog.pg_sequence sq ON sq.seqrelid = sd.objid
WHERE a.attnum > 0 AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p')
  AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%%' AND n.nspname NOT LIKE 'pg\_temp\_%%'
  AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY (%(schemas)s::text[]))
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                  WHERE e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND e.objid = c.oid AND e.deptype = 'e')
ORDER BY a.attrelid, a.attnum
