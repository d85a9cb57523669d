-- Partitioned tables: their key (pg_get_partkeydef) and their direct partitions with each one's bound
-- (pg_get_expr of relpartbound: "FOR VALUES FROM (...) TO (...)", "DEFAULT"). One row per direct partition,
-- or one row with NULL partition columns for a partitioned table without partitions.
SELECT c.oid, pg_catalog.pg_get_partkeydef(c.oid) AS key,
       pn.nspname AS partition_schema, pc.relname AS partition_name,
       pg_catalog.pg_get_expr(pc.relpartbound, pc.oid) AS bound
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_inherits i ON i.inhparent = c.oid
LEFT JOIN pg_catalog.pg_class pc ON pc.oid = i.inhrelid
LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
WHERE c.relkind = 'p'
  AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%%' AND n.nspname NOT LIKE 'pg\_temp\_%%'
  AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY (%(schemas)s::text[]))
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                  WHERE e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND e.objid = c.oid AND e.deptype = 'e')
