-- tenantry's database schema as the migrations (crates/db/migrations) leave it.
-- GENERATED: do not edit. Change the schema with a new migration, then run
--   UPDATE_SCHEMA=1 cargo test -p tenantry-db --test schema_drift
-- to rewrite this file, and review its diff with the migration. Without
-- UPDATE_SCHEMA that test (crates/db/tests/schema_drift.rs) fails when this file
-- and a freshly migrated database differ.
--
-- Made with pg_dump --schema-only (PostgreSQL 15) and normalised: no SET
-- lines, no version or per-object comments, no database name. pg_dump does not
-- dump roles; they follow at the end, from pg_roles and pg_auth_members,
-- without passwords. The owner is the role that ran the migrations.

CREATE SCHEMA app;

ALTER SCHEMA app OWNER TO tenantry_owner;

CREATE FUNCTION app.current_tenant() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ select nullif(pg_catalog.current_setting('app.tenant_id', true), '')::uuid $$;

ALTER FUNCTION app.current_tenant() OWNER TO tenantry_owner;

CREATE FUNCTION app.current_user_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ select nullif(pg_catalog.current_setting('app.user_id', true), '')::uuid $$;

ALTER FUNCTION app.current_user_id() OWNER TO tenantry_owner;

CREATE FUNCTION app.reject_audit_log_update() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

ALTER FUNCTION app.reject_audit_log_update() OWNER TO tenantry_owner;

CREATE TABLE public.account (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    account_id text NOT NULL,
    provider_id text NOT NULL,
    user_id uuid NOT NULL,
    access_token text,
    refresh_token text,
    id_token text,
    access_token_expires_at timestamp with time zone,
    refresh_token_expires_at timestamp with time zone,
    scope text,
    password text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE public.account OWNER TO tenantry_owner;

CREATE TABLE public.ai_model (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    provider text NOT NULL,
    name text NOT NULL,
    display_name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE public.ai_model OWNER TO tenantry_owner;

CREATE TABLE public.ai_model_pricing (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    model_id uuid NOT NULL,
    input_usd_per_million numeric(12,6) NOT NULL,
    output_usd_per_million numeric(12,6) NOT NULL,
    valid_from timestamp with time zone NOT NULL,
    valid_until timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT ai_model_pricing_input_usd_per_million_check CHECK ((input_usd_per_million >= (0)::numeric)),
    CONSTRAINT ai_model_pricing_output_usd_per_million_check CHECK ((output_usd_per_million >= (0)::numeric)),
    CONSTRAINT ai_model_pricing_valid_range_check CHECK (((valid_until IS NULL) OR (valid_until > valid_from)))
);

ALTER TABLE public.ai_model_pricing OWNER TO tenantry_owner;

CREATE TABLE public.audit_log (
    organization_id uuid DEFAULT app.current_tenant() NOT NULL,
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    actor_user_id uuid DEFAULT app.current_user_id(),
    action text NOT NULL,
    target_type text,
    target_id text,
    details jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT audit_log_action_check CHECK (((char_length(action) >= 1) AND (char_length(action) <= 100)))
);

ALTER TABLE ONLY public.audit_log FORCE ROW LEVEL SECURITY;

ALTER TABLE public.audit_log OWNER TO tenantry_owner;

CREATE TABLE public.invitation (
    organization_id uuid DEFAULT app.current_tenant() NOT NULL,
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    email text NOT NULL,
    role text DEFAULT 'member'::text NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    inviter_id uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT invitation_role_check CHECK ((role = ANY (ARRAY['owner'::text, 'admin'::text, 'member'::text]))),
    CONSTRAINT invitation_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'accepted'::text, 'rejected'::text, 'canceled'::text])))
);

ALTER TABLE ONLY public.invitation FORCE ROW LEVEL SECURITY;

ALTER TABLE public.invitation OWNER TO tenantry_owner;

CREATE TABLE public.member (
    organization_id uuid DEFAULT app.current_tenant() NOT NULL,
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    role text DEFAULT 'member'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT member_role_check CHECK ((role = ANY (ARRAY['owner'::text, 'admin'::text, 'member'::text])))
);

ALTER TABLE ONLY public.member FORCE ROW LEVEL SECURITY;

ALTER TABLE public.member OWNER TO tenantry_owner;

CREATE TABLE public.organization (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    slug text NOT NULL,
    logo text,
    metadata text,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE public.organization OWNER TO tenantry_owner;

CREATE TABLE public.personal_access_token (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    name text NOT NULL,
    token_prefix text NOT NULL,
    token_hash bytea NOT NULL,
    last_used_at timestamp with time zone,
    expires_at timestamp with time zone,
    revoked_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    scopes text[] DEFAULT '{read,write}'::text[] NOT NULL,
    bound_organization_id uuid,
    CONSTRAINT personal_access_token_name_check CHECK (((char_length(name) >= 1) AND (char_length(name) <= 100))),
    CONSTRAINT personal_access_token_scopes_check CHECK (((scopes = '{read}'::text[]) OR (scopes = '{read,write}'::text[]))),
    CONSTRAINT personal_access_token_token_hash_check CHECK ((octet_length(token_hash) = 32))
);

ALTER TABLE public.personal_access_token OWNER TO tenantry_owner;

CREATE TABLE public.project (
    organization_id uuid DEFAULT app.current_tenant() NOT NULL,
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    created_by uuid DEFAULT app.current_user_id(),
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT project_description_check CHECK ((char_length(description) <= 4000)),
    CONSTRAINT project_name_check CHECK (((char_length(name) >= 1) AND (char_length(name) <= 200)))
);

ALTER TABLE ONLY public.project FORCE ROW LEVEL SECURITY;

ALTER TABLE public.project OWNER TO tenantry_owner;

CREATE TABLE public.session (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    token text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    ip_address text,
    user_agent text,
    user_id uuid NOT NULL,
    active_organization_id uuid
);

ALTER TABLE public.session OWNER TO tenantry_owner;

CREATE TABLE public.tenantry_migration (
    version integer NOT NULL,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE public.tenantry_migration OWNER TO tenantry_owner;

CREATE TABLE public.usage_event (
    organization_id uuid DEFAULT app.current_tenant() NOT NULL,
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    project_id uuid,
    model_id uuid NOT NULL,
    input_tokens bigint NOT NULL,
    output_tokens bigint NOT NULL,
    occurred_at timestamp with time zone DEFAULT now() NOT NULL,
    user_id uuid DEFAULT app.current_user_id(),
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT usage_event_input_tokens_check CHECK ((input_tokens >= 0)),
    CONSTRAINT usage_event_output_tokens_check CHECK ((output_tokens >= 0))
);

ALTER TABLE ONLY public.usage_event FORCE ROW LEVEL SECURITY;

ALTER TABLE public.usage_event OWNER TO tenantry_owner;

CREATE TABLE public."user" (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    email text NOT NULL,
    email_verified boolean DEFAULT false NOT NULL,
    image text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE public."user" OWNER TO tenantry_owner;

CREATE TABLE public.verification (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    identifier text NOT NULL,
    value text NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE public.verification OWNER TO tenantry_owner;

ALTER TABLE ONLY public.account
    ADD CONSTRAINT account_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.account
    ADD CONSTRAINT account_provider_id_account_id_key UNIQUE (provider_id, account_id);

ALTER TABLE ONLY public.ai_model
    ADD CONSTRAINT ai_model_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.ai_model_pricing
    ADD CONSTRAINT ai_model_pricing_model_id_valid_from_key UNIQUE (model_id, valid_from);

ALTER TABLE ONLY public.ai_model_pricing
    ADD CONSTRAINT ai_model_pricing_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.ai_model
    ADD CONSTRAINT ai_model_provider_name_key UNIQUE (provider, name);

ALTER TABLE ONLY public.audit_log
    ADD CONSTRAINT audit_log_pkey PRIMARY KEY (organization_id, id);

ALTER TABLE ONLY public.invitation
    ADD CONSTRAINT invitation_pkey PRIMARY KEY (organization_id, id);

ALTER TABLE ONLY public.member
    ADD CONSTRAINT member_organization_id_user_id_key UNIQUE (organization_id, user_id);

ALTER TABLE ONLY public.member
    ADD CONSTRAINT member_pkey PRIMARY KEY (organization_id, id);

ALTER TABLE ONLY public.organization
    ADD CONSTRAINT organization_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.organization
    ADD CONSTRAINT organization_slug_key UNIQUE (slug);

ALTER TABLE ONLY public.personal_access_token
    ADD CONSTRAINT personal_access_token_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.personal_access_token
    ADD CONSTRAINT personal_access_token_token_prefix_key UNIQUE (token_prefix);

ALTER TABLE ONLY public.project
    ADD CONSTRAINT project_organization_id_name_key UNIQUE (organization_id, name);

ALTER TABLE ONLY public.project
    ADD CONSTRAINT project_pkey PRIMARY KEY (organization_id, id);

ALTER TABLE ONLY public.session
    ADD CONSTRAINT session_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.session
    ADD CONSTRAINT session_token_key UNIQUE (token);

ALTER TABLE ONLY public.tenantry_migration
    ADD CONSTRAINT tenantry_migration_pkey PRIMARY KEY (version);

ALTER TABLE ONLY public.usage_event
    ADD CONSTRAINT usage_event_pkey PRIMARY KEY (organization_id, id);

ALTER TABLE ONLY public."user"
    ADD CONSTRAINT user_email_key UNIQUE (email);

ALTER TABLE ONLY public."user"
    ADD CONSTRAINT user_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.verification
    ADD CONSTRAINT verification_pkey PRIMARY KEY (id);

CREATE INDEX account_user_id_idx ON public.account USING btree (user_id);

CREATE INDEX audit_log_organization_id_created_at_idx ON public.audit_log USING btree (organization_id, created_at DESC, id DESC);

CREATE INDEX invitation_id_idx ON public.invitation USING btree (id);

CREATE UNIQUE INDEX invitation_pending_email_key ON public.invitation USING btree (organization_id, email) WHERE (status = 'pending'::text);

CREATE INDEX invitation_pending_invitee_idx ON public.invitation USING btree (email) WHERE (status = 'pending'::text);

CREATE INDEX member_user_id_idx ON public.member USING btree (user_id, organization_id);

CREATE INDEX personal_access_token_bound_organization_id_idx ON public.personal_access_token USING btree (bound_organization_id) WHERE (bound_organization_id IS NOT NULL);

CREATE INDEX personal_access_token_user_id_idx ON public.personal_access_token USING btree (user_id, created_at);

CREATE INDEX project_organization_id_created_at_idx ON public.project USING btree (organization_id, created_at, id);

CREATE INDEX session_user_id_idx ON public.session USING btree (user_id, updated_at DESC);

CREATE INDEX usage_event_organization_id_occurred_at_idx ON public.usage_event USING btree (organization_id, occurred_at);

CREATE INDEX usage_event_organization_id_project_id_idx ON public.usage_event USING btree (organization_id, project_id);

CREATE INDEX verification_identifier_idx ON public.verification USING btree (identifier);

CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON public.audit_log FOR EACH ROW EXECUTE FUNCTION app.reject_audit_log_update();

ALTER TABLE ONLY public.account
    ADD CONSTRAINT account_user_id_fkey FOREIGN KEY (user_id) REFERENCES public."user"(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.ai_model_pricing
    ADD CONSTRAINT ai_model_pricing_model_id_fkey FOREIGN KEY (model_id) REFERENCES public.ai_model(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.audit_log
    ADD CONSTRAINT audit_log_actor_user_id_fkey FOREIGN KEY (actor_user_id) REFERENCES public."user"(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.audit_log
    ADD CONSTRAINT audit_log_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organization(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.invitation
    ADD CONSTRAINT invitation_inviter_id_fkey FOREIGN KEY (inviter_id) REFERENCES public."user"(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.invitation
    ADD CONSTRAINT invitation_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organization(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.member
    ADD CONSTRAINT member_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organization(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.member
    ADD CONSTRAINT member_user_id_fkey FOREIGN KEY (user_id) REFERENCES public."user"(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.personal_access_token
    ADD CONSTRAINT personal_access_token_bound_organization_id_fkey FOREIGN KEY (bound_organization_id) REFERENCES public.organization(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.personal_access_token
    ADD CONSTRAINT personal_access_token_user_id_fkey FOREIGN KEY (user_id) REFERENCES public."user"(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.project
    ADD CONSTRAINT project_created_by_fkey FOREIGN KEY (created_by) REFERENCES public."user"(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.project
    ADD CONSTRAINT project_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organization(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.session
    ADD CONSTRAINT session_active_organization_id_fkey FOREIGN KEY (active_organization_id) REFERENCES public.organization(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.session
    ADD CONSTRAINT session_user_id_fkey FOREIGN KEY (user_id) REFERENCES public."user"(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.usage_event
    ADD CONSTRAINT usage_event_model_id_fkey FOREIGN KEY (model_id) REFERENCES public.ai_model(id);

ALTER TABLE ONLY public.usage_event
    ADD CONSTRAINT usage_event_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organization(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.usage_event
    ADD CONSTRAINT usage_event_project_fkey FOREIGN KEY (organization_id, project_id) REFERENCES public.project(organization_id, id) ON DELETE SET NULL (project_id);

ALTER TABLE ONLY public.usage_event
    ADD CONSTRAINT usage_event_user_id_fkey FOREIGN KEY (user_id) REFERENCES public."user"(id) ON DELETE SET NULL;

ALTER TABLE public.audit_log ENABLE ROW LEVEL SECURITY;

CREATE POLICY audit_log_tenant_append ON public.audit_log FOR INSERT TO authenticated WITH CHECK (((organization_id = ( SELECT app.current_tenant() AS current_tenant)) AND (NOT (actor_user_id IS DISTINCT FROM ( SELECT app.current_user_id() AS current_user_id)))));

CREATE POLICY audit_log_tenant_read ON public.audit_log FOR SELECT TO authenticated USING ((organization_id = ( SELECT app.current_tenant() AS current_tenant)));

ALTER TABLE public.invitation ENABLE ROW LEVEL SECURITY;

CREATE POLICY invitation_tenant_isolation ON public.invitation TO authenticated USING ((organization_id = ( SELECT app.current_tenant() AS current_tenant))) WITH CHECK ((organization_id = ( SELECT app.current_tenant() AS current_tenant)));

ALTER TABLE public.member ENABLE ROW LEVEL SECURITY;

CREATE POLICY member_tenant_isolation ON public.member TO authenticated USING ((organization_id = ( SELECT app.current_tenant() AS current_tenant))) WITH CHECK ((organization_id = ( SELECT app.current_tenant() AS current_tenant)));

ALTER TABLE public.organization ENABLE ROW LEVEL SECURITY;

CREATE POLICY organization_create_current_tenant ON public.organization FOR INSERT TO authenticated WITH CHECK ((id = ( SELECT app.current_tenant() AS current_tenant)));

CREATE POLICY organization_current_tenant ON public.organization FOR SELECT TO authenticated USING ((id = ( SELECT app.current_tenant() AS current_tenant)));

CREATE POLICY organization_delete_current_tenant ON public.organization FOR DELETE TO authenticated USING ((id = ( SELECT app.current_tenant() AS current_tenant)));

CREATE POLICY organization_update_current_tenant ON public.organization FOR UPDATE TO authenticated USING ((id = ( SELECT app.current_tenant() AS current_tenant))) WITH CHECK ((id = ( SELECT app.current_tenant() AS current_tenant)));

ALTER TABLE public.project ENABLE ROW LEVEL SECURITY;

CREATE POLICY project_tenant_isolation ON public.project TO authenticated USING ((organization_id = ( SELECT app.current_tenant() AS current_tenant))) WITH CHECK ((organization_id = ( SELECT app.current_tenant() AS current_tenant)));

ALTER TABLE public.usage_event ENABLE ROW LEVEL SECURITY;

CREATE POLICY usage_event_tenant_isolation ON public.usage_event TO authenticated USING ((organization_id = ( SELECT app.current_tenant() AS current_tenant))) WITH CHECK ((organization_id = ( SELECT app.current_tenant() AS current_tenant)));

ALTER TABLE public."user" ENABLE ROW LEVEL SECURITY;

CREATE POLICY user_tenant_members ON public."user" FOR SELECT TO authenticated USING ((EXISTS ( SELECT 1
   FROM public.member m
  WHERE (m.user_id = "user".id))));

GRANT USAGE ON SCHEMA app TO authenticated;
GRANT USAGE ON SCHEMA app TO tenantry_bare;

REVOKE ALL ON FUNCTION app.current_tenant() FROM PUBLIC;
GRANT ALL ON FUNCTION app.current_tenant() TO authenticated;
GRANT ALL ON FUNCTION app.current_tenant() TO tenantry_bare;

REVOKE ALL ON FUNCTION app.current_user_id() FROM PUBLIC;
GRANT ALL ON FUNCTION app.current_user_id() TO authenticated;
GRANT ALL ON FUNCTION app.current_user_id() TO tenantry_bare;

REVOKE ALL ON FUNCTION app.reject_audit_log_update() FROM PUBLIC;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.account TO tenantry_bare;

GRANT SELECT ON TABLE public.ai_model TO authenticated;
GRANT SELECT ON TABLE public.ai_model TO tenantry_bare;

GRANT SELECT ON TABLE public.ai_model_pricing TO authenticated;
GRANT SELECT ON TABLE public.ai_model_pricing TO tenantry_bare;

GRANT SELECT,INSERT ON TABLE public.audit_log TO authenticated;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.invitation TO authenticated;
GRANT SELECT ON TABLE public.invitation TO tenantry_bare;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.member TO authenticated;
GRANT SELECT ON TABLE public.member TO tenantry_bare;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.organization TO tenantry_bare;
GRANT DELETE ON TABLE public.organization TO authenticated;

GRANT SELECT(id),INSERT(id) ON TABLE public.organization TO authenticated;

GRANT SELECT(name),INSERT(name),UPDATE(name) ON TABLE public.organization TO authenticated;

GRANT SELECT(slug),INSERT(slug),UPDATE(slug) ON TABLE public.organization TO authenticated;

GRANT SELECT(logo),INSERT(logo),UPDATE(logo) ON TABLE public.organization TO authenticated;

GRANT SELECT(metadata),INSERT(metadata),UPDATE(metadata) ON TABLE public.organization TO authenticated;

GRANT SELECT(created_at) ON TABLE public.organization TO authenticated;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.personal_access_token TO tenantry_bare;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.project TO authenticated;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.session TO tenantry_bare;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.usage_event TO authenticated;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public."user" TO tenantry_bare;

GRANT SELECT(id) ON TABLE public."user" TO authenticated;

GRANT SELECT(name) ON TABLE public."user" TO authenticated;

GRANT SELECT(email) ON TABLE public."user" TO authenticated;

GRANT SELECT(image) ON TABLE public."user" TO authenticated;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.verification TO tenantry_bare;

ALTER DEFAULT PRIVILEGES FOR ROLE tenantry_owner IN SCHEMA public GRANT SELECT,INSERT,DELETE,UPDATE ON TABLES  TO authenticated;

-- Roles the migrations create (cluster-wide).

CREATE ROLE authenticated NOSUPERUSER NOINHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;
CREATE ROLE tenantry_app NOSUPERUSER NOINHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS;
CREATE ROLE tenantry_bare NOSUPERUSER NOINHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION BYPASSRLS;
CREATE ROLE tenantry_cross_tenant NOSUPERUSER NOINHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION BYPASSRLS;

GRANT authenticated TO tenantry_app;
GRANT tenantry_cross_tenant TO tenantry_bare;

-- Privileges on the database itself, by grantee.

-- PUBLIC: CONNECT
-- tenantry_owner: CONNECT, CREATE, TEMPORARY
