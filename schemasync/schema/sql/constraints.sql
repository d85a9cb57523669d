-- Primary key, unique, foreign key and check constraints. Column lists keep the constraint's order.
-- For a foreign key that references a partitioned table, PostgreSQL adds one row per referenced
-- partition on the same referencing table (conparentid set): those are its internals, not constraints.
SELECT co.conrelid, co.conname, co.contype,
       ARRAY(SELECT a.attname FROM pg_catalog.unnest(co.conkey) WITH ORDINALITY k(attnum, ord)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.attnum
             ORDER BY k.ord) AS columns,
       rn.nspname AS ref_schema, rc.relname AS ref_table,
       ARRAY(SELECT a.attname FROM pg_catalog.unnest(co.confkey) WITH ORDINALITY k(attnum, ord)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = co.confrelid AND a.attnum = k.attnum
             ORDER BY k.ord) AS ref_columns,
       co.confdeltype, co.confupdtype, co.confmatchtype,
       co.condeferrable, co.condeferred, co.convalidated,
       CASE WHEN co.contype = 'c' THEN pg_catalog.pg_get_constraintdef(co.oid) END AS definition,
       {nulls_not_distinct} AS nulls_not_distinct
FROM pg_catalog.pg_constraint co
JOIN pg_catalog.pg_class c ON c.oid = co.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_class rc ON rc.oid = co.confrelid
LEFT JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
LEFT JOIN pg_catalog.pg_index ci ON ci.indexrelid = co.conindid AND co.contype = 'u'
WHERE co.contype IN ('p', 'u', 'f', 'c')
  AND c.relkind IN ('r', 'p')
  AND NOT c.relispartition
  AND NOT (co.contype = 'f' AND co.conparentid <> 0
           AND EXISTS (SELECT 1 FROM pg_catalog.pg_constraint pc
                       WHERE pc.oid = co.conparentid AND pc.conrelid = co.conrelid))
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%%' AND n.nspname NOT LIKE 'pg\_temp\_%%'
  AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY (%(schemas)s::text[]))
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                  WHERE e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND e.objid = c.oid AND e.deptype = 'e')
