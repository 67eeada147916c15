-- The login a Better Auth application connects as when it shares a tenantry
-- database (docs/better-auth.md). Run as the database owner after
-- `tenantry migrate`, then give the role a password:
--   alter role better_auth password '...';
-- BYPASSRLS because Better Auth sets no `app.tenant_id`: under the policies
-- it would see no member or invitation rows at all, and `user` and
-- `organization` have RLS enabled too. Its grants are the seven tables
-- Better Auth reads and writes, and nothing else: no tenant data (project,
-- usage_event, audit_log), no personal access tokens.
do $$
begin
  if not exists (select from pg_catalog.pg_roles where rolname = 'better_auth') then
    create role better_auth login noinherit nosuperuser nocreatedb nocreaterole bypassrls;
  end if;
end
$$;
grant usage on schema public to better_auth;
grant select, insert, update, delete on "user", session, account, verification,
  organization, member, invitation to better_auth;
