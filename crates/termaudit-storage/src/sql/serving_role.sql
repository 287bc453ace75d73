-- The connected role, and whether it may do what the owner of the audit log
-- may (disable its triggers, drop it).
SELECT r.rolname::text AS name,
       r.rolsuper AS superuser,
       pg_has_role(current_user, c.relowner, 'USAGE') AS owns_tables
FROM pg_roles r, pg_class c
WHERE r.rolname = current_user
  AND c.oid = 'audit_events'::regclass
