-- Accepting an invitation happens before the invitee belongs to the
-- organization, so the bare client finds it by id alone. Not unique (ids are
-- random UUIDs; the key stays (organization_id, id)), so it reveals nothing.
create index invitation_id_idx on invitation (id);
