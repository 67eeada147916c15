-- A tenant's owners and admins rename their organization, and its owners
-- delete it, inside the organization's own tenant transaction
-- (organizations::update_organization, delete_organization): `authenticated`
-- may update the descriptive columns of, and delete, exactly the organization
-- whose id is the current tenant. Its id and creation time stay fixed. The
-- tenant tables cascade from `organization`, so a deletion takes every tenant
-- row with it (foreign-key actions run as the tables' owner).
grant update (name, slug, logo, metadata), delete on organization to authenticated;

create policy organization_update_current_tenant on organization
  for update to authenticated
  using (id = (select app.current_tenant()))
  with check (id = (select app.current_tenant()));

create policy organization_delete_current_tenant on organization
  for delete to authenticated
  using (id = (select app.current_tenant()));

-- Deleting a user sets `audit_log.actor_user_id` to NULL on the entries they
-- made (on delete set null, since 0003), and that cascade is an UPDATE, which
-- the append-only trigger refused, so no user with an audit entry could be
-- deleted. The trigger now lets exactly that update through: the actor, and
-- nothing else, becomes NULL, and only once the user it named is gone.
create or replace function app.reject_audit_log_update() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  if new.actor_user_id is null
     and old.actor_user_id is not null
     and (new.organization_id, new.id, new.action, new.target_type, new.target_id,
          new.details, new.created_at)
         is not distinct from
         (old.organization_id, old.id, old.action, old.target_type, old.target_id,
          old.details, old.created_at)
     and not exists (select 1 from public."user" u where u.id = old.actor_user_id)
  then
    return new;
  end if;
  raise exception 'audit_log is append-only' using errcode = 'insufficient_privilege';
end
$$;

-- A signed-in user's pending invitations across organizations
-- (organizations::list_user_invitations, on the bare client before any
-- tenant is known) are found by email, without scanning every tenant's.
create index invitation_pending_invitee_idx on invitation (email)
  where status = 'pending';
