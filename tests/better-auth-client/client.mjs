// Drives tenantry with the real Better Auth client (better-auth/client plus
// the organization client plugin), as a Node back end or a script would:
// bearer tokens instead of a cookie jar. Usage: node client.mjs http://127.0.0.1:PORT
// The script reads mail through whoever runs it: it prints `mailbox? <email>`
// and expects the token of the verification link mailed there on stdin
// (crates/api/tests/better_auth_client.rs answers from the server's mailer).
import assert from "node:assert/strict";
import { baseURL, clientWithBearer, finish, mailedToken, step, unique } from "./harness.mjs";

const owner = clientWithBearer();
const invitee = clientWithBearer();
const ownerEmail = `owner-${unique}@example.com`;
const inviteeEmail = `invitee-${unique}@example.com`;
let organization;

await step("sign up", async () => {
  const { data, error } = await owner.client.signUp.email({ name: "Owner", email: ownerEmail, password: "a long password" });
  assert.equal(error, null);
  assert.equal(data.user.email, ownerEmail);
  assert.ok(owner.state.token, "set-auth-token received");
});

await step("get session with the bearer token", async () => {
  const { data, error } = await owner.client.getSession();
  assert.equal(error, null);
  assert.equal(data.user.email, ownerEmail);
  assert.ok(data.session.expiresAt instanceof Date, "dates parse");
});

await step("wrong password is refused with an error", async () => {
  const { data, error } = await invitee.client.signIn.email({ email: ownerEmail, password: "not the password" });
  assert.equal(data, null);
  assert.equal(error.status, 401);
  assert.ok(error.message);
});

await step("sign in", async () => {
  owner.state.token = null;
  const { data, error } = await owner.client.signIn.email({ email: ownerEmail, password: "a long password" });
  assert.equal(error, null);
  assert.equal(data.user.email, ownerEmail);
  assert.ok(owner.state.token);
});

await step("create an organization", async () => {
  const { data, error } = await owner.client.organization.create({ name: "Client Co", slug: `client-${unique}` });
  assert.equal(error, null);
  assert.equal(data.slug, `client-${unique}`);
  organization = data;
});

await step("set it active and see it in the session", async () => {
  const { error } = await owner.client.organization.setActive({ organizationId: organization.id });
  assert.equal(error, null);
  const { data } = await owner.client.getSession();
  assert.equal(data.session.activeOrganizationId, organization.id);
});

await step("list organizations", async () => {
  const { data, error } = await owner.client.organization.list();
  assert.equal(error, null);
  assert.deepEqual(data.map((o) => o.id), [organization.id]);
});

await step("full organization shows the owner", async () => {
  const { data, error } = await owner.client.organization.getFullOrganization({ query: { organizationId: organization.id } });
  assert.equal(error, null);
  assert.equal(data.members.length, 1);
  assert.equal(data.members[0].role, "owner");
});

let invitationId;
await step("invite, sign up the invitee", async () => {
  const invited = await owner.client.organization.inviteMember({ email: inviteeEmail, role: "member", organizationId: organization.id });
  assert.equal(invited.error, null);
  invitationId = invited.data.id;
  const signedUp = await invitee.client.signUp.email({ name: "Invitee", email: inviteeEmail, password: "another long one" });
  assert.equal(signedUp.error, null);
  assert.equal(signedUp.data.user.emailVerified, false);
});

await step("an unverified invitee is refused with Better Auth's code", async () => {
  const { data, error } = await invitee.client.organization.acceptInvitation({ invitationId });
  assert.equal(data, null);
  assert.equal(error.status, 403);
  assert.equal(error.code, "EMAIL_VERIFICATION_REQUIRED_BEFORE_ACCEPTING_OR_REJECTING_INVITATION");
});

await step("verify the invitee's email with the mailed link", async () => {
  const sent = await invitee.client.sendVerificationEmail({ email: inviteeEmail });
  assert.equal(sent.error, null);
  const verified = await invitee.client.verifyEmail({ query: { token: await mailedToken(inviteeEmail) } });
  assert.equal(verified.error, null);
  const { data } = await invitee.client.getSession();
  assert.equal(data.user.emailVerified, true);
});

await step("the verified invitee accepts", async () => {
  const accepted = await invitee.client.organization.acceptInvitation({ invitationId });
  assert.equal(accepted.error, null);
  assert.equal(accepted.data.member.role, "member");
});

await step("the session token works on a tenant endpoint", async () => {
  const response = await fetch(`${baseURL}/api/projects`, {
    method: "POST",
    headers: { authorization: `Bearer ${owner.state.token}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "made through the client's session" }),
  });
  assert.equal(response.status, 201);
  const list = await fetch(`${baseURL}/api/projects`, { headers: { authorization: `Bearer ${invitee.state.token}` } });
  const page = await list.json();
  assert.deepEqual(page.items.map((p) => p.name), ["made through the client's session"]);
});

await step("sign out ends the session", async () => {
  const { error } = await owner.client.signOut();
  assert.equal(error, null);
  const { data } = await owner.client.getSession();
  assert.equal(data, null);
});

finish();
