-- A support ticket, one organization's (a tenant table).
create table ticket (
  organization_id uuid not null default app.current_tenant() references organization (id) on delete cascade,
  id uuid not null default gen_random_uuid(),
  subject text not null,
  body text not null,
  status text not null default 'open' check (status in ('open', 'pending', 'closed')),
  created_by uuid references "user" (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (organization_id, id)
);

create index ticket_organization_id_status_idx on ticket (organization_id, status, created_at);

alter table ticket enable row level security;
alter table ticket force row level security;

create policy ticket_tenant_isolation on ticket
  for all to authenticated
  using (organization_id = (select app.current_tenant()))
  with check (organization_id = (select app.current_tenant()));

grant select, insert, update, delete on ticket to authenticated;
