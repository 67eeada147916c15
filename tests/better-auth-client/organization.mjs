// Drives tenantry's organization administration and account deletion with
// the real Better Auth client (better-auth/client plus the organization
// client plugin), bearer tokens instead of a cookie jar, as client.mjs does.
// Usage: node organization.mjs http://127.0.0.1:PORT
// Verification links are read as in client.mjs: the script prints
// `mailbox? <email>` and expects the mailed token on stdin
// (crates/api/tests/better_auth_client.rs answers from the server's mailer).
import assert from "node:assert/strict";
import { clientWithBearer, finish, mailedToken, step, unique } from "./harness.mjs";

async function signUpVerified(who, name, email, password) {
  const signedUp = await who.client.signUp.email({ name, email, password });
  assert.equal(signedUp.error, null);
  const sent = await who.client.sendVerificationEmail({ email });
  assert.equal(sent.error, null);
  const verified = await who.client.verifyEmail({ query: { token: await mailedToken(email) } });
  assert.equal(verified.error, null);
}

const owner = clientWithBearer();
const admin = clientWithBearer();
const guest = clientWithBearer();
const ownerEmail = `owner-${unique}@example.com`;
const adminEmail = `admin-${unique}@example.com`;
const guestEmail = `guest-${unique}@example.com`;
const slug = `admin-${unique}`;
let organization;
let adminInvitation;

await step("sign up three verified users; the owner creates an organization", async () => {
  await signUpVerified(owner, "Owner", ownerEmail, "a long password");
  await signUpVerified(admin, "Admin", adminEmail, "another long one");
  await signUpVerified(guest, "Guest", guestEmail, "a third long one");
  const { data, error } = await owner.client.organization.create({ name: "Admin Co", slug });
  assert.equal(error, null);
  organization = data;
});

await step("checkSlug: free, then taken with Better Auth's code", async () => {
  const free = await owner.client.organization.checkSlug({ slug: `free-${unique}` });
  assert.equal(free.error, null);
  assert.equal(free.data.status, true);
  const taken = await owner.client.organization.checkSlug({ slug });
  assert.equal(taken.data, null);
  assert.equal(taken.error.status, 400);
  assert.equal(taken.error.code, "ORGANIZATION_SLUG_ALREADY_TAKEN");
});

await step("invite an admin, who finds it in listUserInvitations and getInvitation", async () => {
  const invited = await owner.client.organization.inviteMember({ email: adminEmail, role: "admin", organizationId: organization.id });
  assert.equal(invited.error, null);
  adminInvitation = invited.data.id;
  const mine = await admin.client.organization.listUserInvitations();
  assert.equal(mine.error, null);
  assert.deepEqual(mine.data.map((i) => i.id), [adminInvitation]);
  assert.equal(mine.data[0].organizationName, "Admin Co");
  const one = await admin.client.organization.getInvitation({ query: { id: adminInvitation } });
  assert.equal(one.error, null);
  assert.equal(one.data.organizationSlug, slug);
  assert.equal(one.data.inviterEmail, ownerEmail);
  const accepted = await admin.client.organization.acceptInvitation({ invitationId: adminInvitation });
  assert.equal(accepted.error, null);
});

await step("update renames the organization", async () => {
  const { data, error } = await admin.client.organization.update({
    organizationId: organization.id,
    data: { name: "Admin Co, renamed", metadata: { plan: "team" } },
  });
  assert.equal(error, null);
  assert.equal(data.name, "Admin Co, renamed");
  assert.equal(data.slug, slug);
});

await step("listMembers pages with {members, total}", async () => {
  const { data, error } = await owner.client.organization.listMembers({
    query: { organizationId: organization.id, limit: 1, sortBy: "createdAt", sortDirection: "desc" },
  });
  assert.equal(error, null);
  assert.equal(data.total, 2);
  assert.equal(data.members.length, 1);
  assert.equal(data.members[0].user.email, adminEmail);
});

await step("getActiveMember and hasPermission follow the default roles", async () => {
  const me = await admin.client.organization.getActiveMember();
  assert.equal(me.error, null);
  assert.equal(me.data.role, "admin");
  const mayUpdate = await admin.client.organization.hasPermission({ permissions: { organization: ["update"] } });
  assert.equal(mayUpdate.error, null);
  assert.equal(mayUpdate.data.success, true);
  const mayDelete = await admin.client.organization.hasPermission({ permissions: { organization: ["delete"] } });
  assert.equal(mayDelete.data.success, false);
  const ownerMay = await owner.client.organization.hasPermission({ permissions: { organization: ["delete"] } });
  assert.equal(ownerMay.data.success, true);
});

await step("listInvitations, then cancelInvitation", async () => {
  const invited = await admin.client.organization.inviteMember({ email: guestEmail, role: "member", organizationId: organization.id });
  assert.equal(invited.error, null);
  const listed = await owner.client.organization.listInvitations({ query: { organizationId: organization.id } });
  assert.equal(listed.error, null);
  assert.ok(listed.data.some((i) => i.id === invited.data.id && i.status === "pending"));
  const canceled = await admin.client.organization.cancelInvitation({ invitationId: invited.data.id });
  assert.equal(canceled.error, null);
  assert.equal(canceled.data.status, "canceled");
  const again = await owner.client.organization.cancelInvitation({ invitationId: invited.data.id });
  assert.equal(again.error.status, 400);
});

await step("the guest rejects a fresh invitation", async () => {
  const invited = await owner.client.organization.inviteMember({ email: guestEmail, role: "member", organizationId: organization.id });
  assert.equal(invited.error, null);
  const rejected = await guest.client.organization.rejectInvitation({ invitationId: invited.data.id });
  assert.equal(rejected.error, null);
  assert.equal(rejected.data.invitation.status, "rejected");
  assert.equal(rejected.data.member, null);
  const none = await guest.client.organization.listUserInvitations();
  assert.deepEqual(none.data, []);
});

await step("the admin leaves; the last owner cannot", async () => {
  const left = await admin.client.organization.leave({ organizationId: organization.id });
  assert.equal(left.error, null);
  assert.equal(left.data.role, "admin");
  const stuck = await owner.client.organization.leave({ organizationId: organization.id });
  assert.equal(stuck.error.status, 400);
  assert.equal(stuck.error.code, "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER");
});

await step("the owner deletes the organization", async () => {
  const deleted = await owner.client.organization.delete({ organizationId: organization.id });
  assert.equal(deleted.error, null);
  assert.equal(deleted.data.id, organization.id);
  const list = await owner.client.organization.list();
  assert.deepEqual(list.data, []);
});

await step("deleteUser checks the password, then ends the account", async () => {
  const wrong = await guest.client.deleteUser({ password: "not it" });
  assert.equal(wrong.error.status, 400);
  assert.equal(wrong.error.code, "INVALID_PASSWORD");
  const deleted = await guest.client.deleteUser({ password: "a third long one" });
  assert.equal(deleted.error, null);
  assert.equal(deleted.data.success, true);
  const { data } = await guest.client.getSession();
  assert.equal(data, null);
  const signIn = await guest.client.signIn.email({ email: guestEmail, password: "a third long one" });
  assert.equal(signIn.error.status, 401);
});

finish();
