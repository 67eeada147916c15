-- audit_log ids came from one sequence shared by every tenant, so a tenant
-- could watch its own ids jump and measure how much other tenants write
-- (and read the sequence itself through the default privileges). Ids are
-- now random UUIDs; order comes from created_at, which takes the clock at
-- insert time so entries of one transaction keep their order.
alter table audit_log alter column id drop identity;
alter table audit_log alter column id drop default;
alter table audit_log alter column id type uuid using gen_random_uuid();
alter table audit_log alter column id set default gen_random_uuid();
alter table audit_log alter column created_at set default clock_timestamp();
create index audit_log_organization_id_created_at_idx on audit_log (organization_id, created_at desc, id desc);

-- No tenant table uses a sequence any more; tenants need none.
alter default privileges in schema public revoke usage, select on sequences from authenticated;
