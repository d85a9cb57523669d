-- Installed extensions with their schema and version. Database-wide: read whatever schemas are inspected
-- (an extension of one name exists once per database, in whichever schema), plpgsql aside (every database
-- has it).
SELECT x.extname, n.nspname, x.extversion
FROM pg_catalog.pg_extension x
JOIN pg_catalog.pg_namespace n ON n.oid = x.extnamespace
WHERE x.extname <> 'plpgsql'
