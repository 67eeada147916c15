-- Inbound mail: a reply to support+<ticket id>@ names its ticket, not its
-- organization, so finding the organization crosses tenants (the
-- `INBOUND_MAIL` reason in src/inbound.rs). Its role may read exactly
-- the two columns that needs, nothing else of a ticket.
grant select (organization_id, id) on ticket to tenantry_cross_tenant;
