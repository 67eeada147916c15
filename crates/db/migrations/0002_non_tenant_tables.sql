-- The seed's non-tenant tables. The auth tables follow Better Auth's schema
-- (snake_case columns, uuid ids) so a database can be shared with a Better Auth
-- application.

create table "user" (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  email text not null,
  email_verified boolean not null default false,
  image text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint user_email_key unique (email)
);

create table organization (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  slug text not null,
  logo text,
  metadata text,
  created_at timestamptz not null default now(),
  constraint organization_slug_key unique (slug)
);

create table session (
  id uuid primary key default gen_random_uuid(),
  expires_at timestamptz not null,
  token text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  ip_address text,
  user_agent text,
  user_id uuid not null references "user" (id) on delete cascade,
  active_organization_id uuid references organization (id) on delete set null,
  constraint session_token_key unique (token)
);
create index session_user_id_idx on session (user_id, updated_at desc);

create table account (
  id uuid primary key default gen_random_uuid(),
  account_id text not null,
  provider_id text not null,
  user_id uuid not null references "user" (id) on delete cascade,
  access_token text,
  refresh_token text,
  id_token text,
  access_token_expires_at timestamptz,
  refresh_token_expires_at timestamptz,
  scope text,
  password text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint account_provider_id_account_id_key unique (provider_id, account_id)
);
create index account_user_id_idx on account (user_id);

create table verification (
  id uuid primary key default gen_random_uuid(),
  identifier text not null,
  value text not null,
  expires_at timestamptz not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index verification_identifier_idx on verification (identifier);

-- Reference data: the AI models tenants use and their prices over time.
create table ai_model (
  id uuid primary key default gen_random_uuid(),
  provider text not null,
  name text not null,
  display_name text not null,
  created_at timestamptz not null default now(),
  constraint ai_model_provider_name_key unique (provider, name)
);

create table ai_model_pricing (
  id uuid primary key default gen_random_uuid(),
  model_id uuid not null references ai_model (id) on delete cascade,
  input_usd_per_million numeric(12, 6) not null check (input_usd_per_million >= 0),
  output_usd_per_million numeric(12, 6) not null check (output_usd_per_million >= 0),
  valid_from timestamptz not null,
  valid_until timestamptz,
  created_at timestamptz not null default now(),
  constraint ai_model_pricing_model_id_valid_from_key unique (model_id, valid_from),
  constraint ai_model_pricing_valid_range_check check (valid_until is null or valid_until > valid_from)
);

-- User-scoped, not tenant-scoped: a token belongs to a user, who may belong to
-- several organizations. Only a hash of the token is stored.
create table personal_access_token (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references "user" (id) on delete cascade,
  name text not null check (char_length(name) between 1 and 100),
  token_prefix text not null,
  token_hash bytea not null check (octet_length(token_hash) = 32),
  last_used_at timestamptz,
  expires_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz not null default now(),
  constraint personal_access_token_token_prefix_key unique (token_prefix)
);
create index personal_access_token_user_id_idx on personal_access_token (user_id, created_at);

-- Undo the default grant on every non-tenant table, then give `authenticated`
-- only what tenant work reads (DESIGN.md invariant 7). The secrets tables
-- (personal_access_token, session, account, verification) get nothing.
revoke all on "user", organization, session, account, verification,
  ai_model, ai_model_pricing, personal_access_token from public, authenticated;

grant select on ai_model, ai_model_pricing to authenticated;
grant select (id, name, email, image) on "user" to authenticated;
grant select (id, name, slug, logo, metadata, created_at) on organization to authenticated;

-- Inside a tenant transaction, `organization` shows only the current tenant's
-- row. (`user` is limited to the tenant's members once `member` exists.)
alter table organization enable row level security;
create policy organization_current_tenant on organization
  for select to authenticated
  using (id = (select app.current_tenant()));

-- The bare client's grants: what the exported non-tenant functions need.
grant select, insert, update, delete on "user", organization, session, account,
  verification, personal_access_token to tenantry_bare;
grant select on ai_model, ai_model_pricing to tenantry_bare;
