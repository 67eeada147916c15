-- ticket_comment: a tenant table, written by `tenantry new tenant-table --engine postgres`.
-- Edit it before it is first applied; after that, change the table with a
-- new migration.
--
-- Each part of the shape is checked by `tenantry audit` (docs/audit.md):
--   * organization_id leads the primary key, every index, every unique key
--     and every foreign key to another tenant table: constraint checks
--     bypass RLS, so a key without it would tell one tenant what another
--     holds (unique_without_tenant, foreign_key_without_tenant,
--     no_tenant_leading_index);
--   * RLS is enabled and forced, so even the owner's queries are filtered
--     (rls_disabled, rls_not_forced);
--   * one policy for all commands, to authenticated only, pins
--     organization_id to the current tenant in USING and in WITH CHECK, so a
--     tenant can neither read nor write another's rows, and a connection
--     with no tenant sees and writes nothing (policy_missing_with_check,
--     policy_not_pinned_to_tenant, policy_to_public, policy_fails_open,
--     multiple_permissive_policies);
--   * the policy calls the tenant function as `(select app.current_tenant())`,
--     an initPlan run once per statement that lets the planner use the
--     indexes on organization_id (policy_per_row_tenant_call);
--   * organization_id defaults to the current tenant, so an insert inside a
--     tenant transaction need not name it.
--
-- updated_at is not maintained by a trigger (tenantry has none): set it in
-- the UPDATE statement.

-- Edited after `tenantry new`: created_by's foreign key to the (non-tenant) user.
create table ticket_comment (
  organization_id uuid not null default app.current_tenant()
    references organization (id) on delete cascade,
  id uuid not null default gen_random_uuid(),
  ticket_id uuid not null,
  body text not null,
  created_by uuid references "user" (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (organization_id, id),
  -- Composite: a row can only belong to a ticket of its own organization;
  -- another tenant's ticket fails exactly like a missing one.
  constraint ticket_comment_ticket_id_fkey foreign key (organization_id, ticket_id)
    references ticket (organization_id, id) on delete cascade
);
create index ticket_comment_organization_id_created_at_idx on ticket_comment (organization_id, created_at, id);
create index ticket_comment_organization_id_ticket_id_idx on ticket_comment (organization_id, ticket_id);

alter table ticket_comment enable row level security;
alter table ticket_comment force row level security;
create policy ticket_comment_tenant_isolation on ticket_comment for all to authenticated
  using (organization_id = (select app.current_tenant()))
  with check (organization_id = (select app.current_tenant()));

grant select, insert, update, delete on ticket_comment to authenticated;
