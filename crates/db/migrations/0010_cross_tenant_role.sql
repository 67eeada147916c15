-- The role an application's cross-tenant work runs as
-- (tenantry_db::cross_tenant). That work is taken on the bare client's login,
-- tenantry_bare, whose grants reach users, sessions, credentials, tokens and
-- memberships; an application's reason to cross tenants (routing a mailed
-- reply to its organization, say) is no reason to reach those. Each of its
-- statements therefore runs as tenantry_cross_tenant, set transaction-locally:
-- BYPASSRLS, and no privilege but what the application's own migrations
-- grant it.
do $$
begin
  if not exists (select from pg_catalog.pg_roles where rolname = 'tenantry_cross_tenant') then
    create role tenantry_cross_tenant nologin noinherit nosuperuser nocreatedb nocreaterole bypassrls;
  end if;
end
$$;

-- tenantry_bare is NOINHERIT: membership lets it switch to the role, and
-- gives it none of the role's privileges otherwise.
grant tenantry_cross_tenant to tenantry_bare;
