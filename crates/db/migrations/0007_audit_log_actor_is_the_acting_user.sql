-- An audit entry's actor is whoever the transaction acts as, never a value
-- the inserting statement chooses: without this, a statement that names an
-- actor (a bug, or SQL injected into a tenant statement) could write entries
-- in another member's name. Code that can run arbitrary SQL as
-- `authenticated` could also set app.user_id itself, as it could set the
-- tenant: this pins the actor to the transaction's setting, no more.
-- `is not distinct from` keeps work with no acting user (actor NULL) possible
-- and refuses a NULL actor when there is one.
drop policy audit_log_tenant_append on audit_log;
create policy audit_log_tenant_append on audit_log for insert to authenticated
  with check (
    organization_id = (select app.current_tenant())
    and actor_user_id is not distinct from (select app.current_user_id())
  );
