-- Scoped personal access tokens (docs/tokens.md).
--
-- scopes: what the token may do. 'read' alone makes its tenant work run in
-- read-only transactions, so PostgreSQL refuses a write whatever code path
-- attempts it; 'write' comes with 'read'. The default is both: every token
-- made before scopes existed keeps doing what it did.
--
-- bound_organization_id: the one organization the token acts in, when bound. The
-- token's user must still be a member there on every request (membership is
-- checked per request, never copied onto the token), and deleting the
-- organization deletes the tokens bound to it. This is a user's credential,
-- not tenant data: the table stays out of `authenticated`'s reach
-- (invariant 7), and the column only narrows what the token may do. (Not
-- `organization_id`, which marks a tenant table's rows as the tenant's, as
-- session.active_organization_id is not.)
alter table personal_access_token
  add column scopes text[] not null default '{read,write}',
  add column bound_organization_id uuid references organization (id) on delete cascade,
  add constraint personal_access_token_scopes_check
    check (scopes in ('{read}', '{read,write}'));

-- The foreign key's index: deleting an organization finds its bound tokens.
create index personal_access_token_bound_organization_id_idx
  on personal_access_token (bound_organization_id) where bound_organization_id is not null;
