-- Tenant tables. Each one follows DESIGN.md invariant 1:
--   * `organization_id uuid not null` referencing organization(id), defaulting to
--     the current tenant so inserts inside a tenant transaction need not repeat it;
--   * `primary key (organization_id, id)`, and every unique constraint and every
--     foreign key between tenant tables includes organization_id (constraint
--     checks bypass RLS, so a global key would tell one tenant what another holds);
--   * indexes lead with organization_id;
--   * RLS enabled and forced, with policies `to authenticated` that pin
--     organization_id to `(select app.current_tenant())` in USING and WITH CHECK.

create table member (
  organization_id uuid not null default app.current_tenant()
    references organization (id) on delete cascade,
  id uuid not null default gen_random_uuid(),
  user_id uuid not null references "user" (id) on delete cascade,
  role text not null default 'member'
    constraint member_role_check check (role in ('owner', 'admin', 'member')),
  created_at timestamptz not null default now(),
  primary key (organization_id, id),
  constraint member_organization_id_user_id_key unique (organization_id, user_id)
);
-- The one index that does not lead with organization_id: resolving a user's
-- organizations (resolve_organization_id, through the bare client) happens
-- before any tenant is known, and must not scan every membership.
create index member_user_id_idx on member (user_id, organization_id);

create table invitation (
  organization_id uuid not null default app.current_tenant()
    references organization (id) on delete cascade,
  id uuid not null default gen_random_uuid(),
  email text not null,
  role text not null default 'member'
    constraint invitation_role_check check (role in ('owner', 'admin', 'member')),
  status text not null default 'pending'
    constraint invitation_status_check check (status in ('pending', 'accepted', 'rejected', 'canceled')),
  expires_at timestamptz not null,
  inviter_id uuid not null references "user" (id) on delete cascade,
  created_at timestamptz not null default now(),
  primary key (organization_id, id)
);
create unique index invitation_pending_email_key on invitation (organization_id, email)
  where status = 'pending';

create table project (
  organization_id uuid not null default app.current_tenant()
    references organization (id) on delete cascade,
  id uuid not null default gen_random_uuid(),
  name text not null check (char_length(name) between 1 and 200),
  description text not null default '' check (char_length(description) <= 4000),
  created_by uuid default app.current_user_id() references "user" (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (organization_id, id),
  constraint project_organization_id_name_key unique (organization_id, name)
);
create index project_organization_id_created_at_idx on project (organization_id, created_at, id);

-- AI usage. Cost is derived from ai_model_pricing valid at occurred_at.
create table usage_event (
  organization_id uuid not null default app.current_tenant()
    references organization (id) on delete cascade,
  id uuid not null default gen_random_uuid(),
  project_id uuid,
  model_id uuid not null references ai_model (id),
  input_tokens bigint not null check (input_tokens >= 0),
  output_tokens bigint not null check (output_tokens >= 0),
  occurred_at timestamptz not null default now(),
  user_id uuid default app.current_user_id() references "user" (id) on delete set null,
  created_at timestamptz not null default now(),
  primary key (organization_id, id),
  -- Composite: a tenant can only reference its own projects, and referencing
  -- another tenant's project fails exactly like referencing a missing one.
  constraint usage_event_project_fkey foreign key (organization_id, project_id)
    references project (organization_id, id) on delete set null (project_id)
);
create index usage_event_organization_id_occurred_at_idx on usage_event (organization_id, occurred_at);
create index usage_event_organization_id_project_id_idx on usage_event (organization_id, project_id);

-- Append-only: `authenticated` may read and insert, never change or remove.
create table audit_log (
  organization_id uuid not null default app.current_tenant()
    references organization (id) on delete cascade,
  id bigint generated always as identity,
  actor_user_id uuid default app.current_user_id() references "user" (id) on delete set null,
  action text not null check (char_length(action) between 1 and 100),
  target_type text,
  target_id text,
  details jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  primary key (organization_id, id)
);

create function app.reject_audit_log_update() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  raise exception 'audit_log is append-only' using errcode = 'insufficient_privilege';
end
$$;
revoke all on function app.reject_audit_log_update() from public;
create trigger audit_log_append_only before update on audit_log
  for each row execute function app.reject_audit_log_update();
revoke update, delete, truncate on audit_log from authenticated;

-- Row-level security, enabled and forced on every tenant table.
alter table member enable row level security;
alter table member force row level security;
create policy member_tenant_isolation on member for all to authenticated
  using (organization_id = (select app.current_tenant()))
  with check (organization_id = (select app.current_tenant()));

alter table invitation enable row level security;
alter table invitation force row level security;
create policy invitation_tenant_isolation on invitation for all to authenticated
  using (organization_id = (select app.current_tenant()))
  with check (organization_id = (select app.current_tenant()));

alter table project enable row level security;
alter table project force row level security;
create policy project_tenant_isolation on project for all to authenticated
  using (organization_id = (select app.current_tenant()))
  with check (organization_id = (select app.current_tenant()));

alter table usage_event enable row level security;
alter table usage_event force row level security;
create policy usage_event_tenant_isolation on usage_event for all to authenticated
  using (organization_id = (select app.current_tenant()))
  with check (organization_id = (select app.current_tenant()));

alter table audit_log enable row level security;
alter table audit_log force row level security;
create policy audit_log_tenant_read on audit_log for select to authenticated
  using (organization_id = (select app.current_tenant()));
create policy audit_log_tenant_append on audit_log for insert to authenticated
  with check (organization_id = (select app.current_tenant()));

-- `user` rows are visible inside a tenant transaction only for the tenant's own
-- members: the subquery reads `member` through its own RLS policy.
alter table "user" enable row level security;
create policy user_tenant_members on "user" for select to authenticated
  using (exists (select 1 from member m where m.user_id = "user".id));

-- The bare client resolves organizations and accepts invitations before any
-- tenant is known: it reads memberships and invitations across tenants, and
-- nothing else of tenant data.
grant select on member, invitation to tenantry_bare;
