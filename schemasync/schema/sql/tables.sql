-- Ordinary and partitioned tables, with their comment and the non-compared facts (row estimate, size).
-- A partition is part of its partitioned table, never a table of its own: it is left out here (and
-- from the columns, constraints and indexes queries), and listed with the table at the top of its
-- tree, whose row estimate and size are those of its partitions (a partitioned table holds no rows).
SELECT c.oid, n.nspname, c.relname, d.description,
       CASE WHEN c.relkind = 'p' THEN COALESCE(p.row_estimate, -1) ELSE c.reltuples::bigint END AS row_estimate,
       CASE WHEN c.relkind = 'p' THEN COALESCE(p.size_bytes, 0)
            ELSE pg_catalog.pg_total_relation_size(c.oid) END AS size_bytes,
       COALESCE(p.names, ARRAY[]::text[]) AS partitions
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_description d
       ON d.objoid = c.oid AND d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0
LEFT JOIN LATERAL (
  WITH RECURSIVE tree(oid) AS (
    SELECT i.inhrelid FROM pg_catalog.pg_inherits i WHERE i.inhparent = c.oid
    UNION ALL
    SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN tree ON i.inhparent = tree.oid
  )
  SELECT pg_catalog.array_agg(pn.nspname || '.' || pc.relname ORDER BY pn.nspname, pc.relname) AS names,
         CASE WHEN pg_catalog.bool_and(pc.reltuples < 0) FILTER (WHERE pc.relkind <> 'p') THEN -1
              ELSE COALESCE(pg_catalog.sum(GREATEST(pc.reltuples, 0)) FILTER (WHERE pc.relkind <> 'p'), 0) END::bigint
           AS row_estimate,
         pg_catalog.sum(pg_catalog.pg_total_relation_size(pc.oid))::bigint AS size_bytes
  FROM tree
  JOIN pg_catalog.pg_class pc ON pc.oid = tree.oid
  JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
) p ON c.relkind = 'p'
WHERE c.relkind IN ('r', 'p')
  AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%%' AND n.nspname NOT LIKE 'pg\_temp\_%%'
  AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY (%(schemas)s::text[]))
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                  WHERE e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND e.objid = c.oid AND e.deptype = 'e')
