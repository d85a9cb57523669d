-- Privileges on tables (and views), sequences, schemas, functions and procedures, one row per grantee and
-- privilege, "public" for PUBLIC. The owner's own privileges and the ones every such object has by default
-- (PUBLIC's EXECUTE on a routine: acldefault) are implicit and left out, and so is every object an extension owns. Objects that were never granted anything (a NULL ACL) have no rows.
-- Column privileges (pg_attribute.attacl) come with the columns (columns.sql): one scan of pg_attribute a look.
WITH ns AS (
  SELECT n.oid, n.nspname, n.nspacl, n.nspowner
  FROM pg_catalog.pg_namespace n
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\_toast%%' AND n.nspname NOT LIKE 'pg\_temp\_%%'
    AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY (%(schemas)s::text[]))
), objects AS (
  SELECT CASE c.relkind WHEN 'S' THEN 'sequence' ELSE 'table' END AS kind, ns.nspname AS schema,
         c.relname AS name, '' AS arguments, c.relacl AS acl, c.relowner AS owner,
         CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END AS defaults
  FROM pg_catalog.pg_class c JOIN ns ON ns.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'S', 'v', 'm', 'f') AND c.relacl IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                    AND e.objid = c.oid AND e.deptype = 'e')
  UNION ALL
  SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END, ns.nspname, p.proname,
         pg_catalog.oidvectortypes(p.proargtypes), p.proacl, p.proowner, 'f'
  FROM pg_catalog.pg_proc p JOIN ns ON ns.oid = p.pronamespace
  WHERE p.prokind IN ('f', 'p') AND p.proacl IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                    AND e.objid = p.oid AND e.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'schema', ns.nspname, '', '', ns.nspacl, ns.nspowner, 'n' FROM ns WHERE ns.nspacl IS NOT NULL
)
SELECT o.kind, o.schema, o.name, o.arguments, COALESCE(r.rolname, 'public') AS grantee, a.privilege_type, a.is_grantable
FROM objects o
CROSS JOIN LATERAL pg_catalog.aclexplode(o.acl) AS a
LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee AND a.grantee <> 0
WHERE a.grantee <> o.owner
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.aclexplode(pg_catalog.acldefault(o.defaults::"char", o.owner)) AS d
                  WHERE d.grantee = a.grantee AND d.privilege_type = a.privilege_type)
