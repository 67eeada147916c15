-- Roles, the tenant function and default privileges.
--
-- Roles are cluster-wide while migrations run per database, so each role is
-- created only when missing: every database of a cluster (and every test
-- database) runs this file.
--
--   authenticated  NOLOGIN. The only role the RLS policies name. Tenant work runs
--                  as it, through `SET LOCAL ROLE` inside `with_tenant_context`.
--   tenantry_app   The pooled application login. NOINHERIT, so membership in
--                  `authenticated` grants nothing until `SET LOCAL ROLE`: a
--                  connection without tenant context fails closed. It owns
--                  nothing, is not superuser and cannot bypass RLS.
--   tenantry_bare  The login behind `tenantry_db::client` (the explicit bypass):
--                  BYPASSRLS, but holding only the grants the named non-tenant
--                  query functions need. Never used for tenant work.
do $$
begin
  if not exists (select from pg_catalog.pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select from pg_catalog.pg_roles where rolname = 'tenantry_app') then
    create role tenantry_app login noinherit nosuperuser nocreatedb nocreaterole nobypassrls;
  end if;
  if not exists (select from pg_catalog.pg_roles where rolname = 'tenantry_bare') then
    create role tenantry_bare login noinherit nosuperuser nocreatedb nocreaterole bypassrls;
  end if;
end
$$;

grant authenticated to tenantry_app;

-- Nobody but the owner creates objects.
revoke create on schema public from public;

-- Bookkeeping is the migrator's business only.
revoke all on tenantry_migration from public;

create schema app;
revoke all on schema app from public;
grant usage on schema app to authenticated, tenantry_bare;

-- The one place the tenant comes from (DESIGN.md invariant 2). A missing setting
-- and an empty one (what a transaction-local setting leaves behind after commit)
-- both mean "no tenant": NULL, which no policy compares equal to anything.
-- Policies call it as `(select app.current_tenant())` so it runs once per
-- statement as an initPlan. The fixed search_path keeps it from resolving
-- names through a caller's path.
create function app.current_tenant() returns uuid
  language sql stable parallel safe
  set search_path = ''
  as $$ select nullif(pg_catalog.current_setting('app.tenant_id', true), '')::uuid $$;

-- The acting user, for auditing. Never used for isolation.
create function app.current_user_id() returns uuid
  language sql stable parallel safe
  set search_path = ''
  as $$ select nullif(pg_catalog.current_setting('app.user_id', true), '')::uuid $$;

revoke all on function app.current_tenant(), app.current_user_id() from public;
grant execute on function app.current_tenant(), app.current_user_id() to authenticated, tenantry_bare;

-- The seed's grant: tenant tables reach `authenticated` by default, where RLS
-- (enabled and forced on every tenant table) decides what it sees. Non-tenant
-- tables revoke this in their own migration and grant back only what tenant work
-- needs (DESIGN.md invariant 7).
alter default privileges in schema public grant select, insert, update, delete on tables to authenticated;
alter default privileges in schema public grant usage, select on sequences to authenticated;
