-- A comment on a ticket of the same organization: the composite foreign key
-- (organization_id, ticket_id) makes a comment on another tenant's ticket
-- impossible, and indistinguishable from one on a ticket that does not exist.
create table ticket_comment (
  organization_id uuid not null default app.current_tenant() references organization (id) on delete cascade,
  id uuid not null default gen_random_uuid(),
  ticket_id uuid not null,
  body text not null,
  created_by uuid references "user" (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (organization_id, id),
  foreign key (organization_id, ticket_id) references ticket (organization_id, id) on delete cascade
);

create index ticket_comment_organization_id_ticket_id_idx on ticket_comment (organization_id, ticket_id, created_at);

alter table ticket_comment enable row level security;
alter table ticket_comment force row level security;

create policy ticket_comment_tenant_isolation on ticket_comment
  for all to authenticated
  using (organization_id = (select app.current_tenant()))
  with check (organization_id = (select app.current_tenant()));

grant select, insert, update, delete on ticket_comment to authenticated;
