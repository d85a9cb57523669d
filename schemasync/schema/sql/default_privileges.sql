-- Default privileges in the given schemas (ALTER DEFAULT PRIVILEGES ... IN SCHEMA), one row per grantee and
-- privilege, "public" for PUBLIC; the role whose new objects get them is '' when it is the role running this
-- look (see model.DefaultPrivilege). Database-wide entries (no IN SCHEMA) are not read: they are not managed.
SELECT CASE WHEN r.rolname = current_user THEN '' ELSE r.rolname END AS role, n.nspname,
       CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences' WHEN 'f' THEN 'functions'
                            ELSE 'types' END AS kind,
       COALESCE(g.rolname, 'public') AS grantee, a.privilege_type, a.is_grantable
FROM pg_catalog.pg_default_acl d
JOIN pg_catalog.pg_roles r ON r.oid = d.defaclrole
JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace
CROSS JOIN LATERAL pg_catalog.aclexplode(d.defaclacl) AS a
LEFT JOIN pg_catalog.pg_roles g ON g.oid = a.grantee AND a.grantee <> 0
WHERE d.defaclobjtype IN ('r', 'S', 'f', 'T')
  AND a.grantee <> d.defaclrole
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY (%(schemas)s::text[]))
