-- An organization is created in one tenant transaction together with its
-- owner's membership and its audit entry, in the context of its own new id
-- (members::create_organization), so that no organization is ever committed
-- without an owner. `authenticated` may insert exactly the organization
-- whose id is the current tenant, and no other; it still cannot update or
-- delete organizations, and reads only the current tenant's row.
grant insert (id, name, slug, logo, metadata) on organization to authenticated;

create policy organization_create_current_tenant on organization
  for insert to authenticated
  with check (id = (select app.current_tenant()));
