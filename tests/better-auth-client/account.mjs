// Drives tenantry's session and account routes with the real Better Auth
// client: listSessions, revokeSession, revokeSessions, revokeOtherSessions,
// updateUser, changePassword, changeEmail (and verifyEmail for its link).
// Usage: node account.mjs http://127.0.0.1:PORT
// Mail is read as in client.mjs: the script prints `mailbox? <email>` and
// expects the token of the link mailed there on stdin
// (crates/api/tests/better_auth_client.rs answers from the server's mailer).
import assert from "node:assert/strict";
import { clientWithBearer, finish, mailedToken, step, unique } from "./harness.mjs";

const laptop = clientWithBearer();
const phone = clientWithBearer();
const email = `account-${unique}@example.com`;
const newEmail = `moved-${unique}@example.com`;
let password = "a long password";

// The raw session token inside the signed `token.signature` bearer value.
const raw = (signed) => signed.split(".")[0];

await step("sign up on one device, sign in on another", async () => {
  const signedUp = await laptop.client.signUp.email({ name: "Account", email, password });
  assert.equal(signedUp.error, null);
  const signedIn = await phone.client.signIn.email({ email, password });
  assert.equal(signedIn.error, null);
  assert.ok(laptop.state.token && phone.state.token);
});

await step("listSessions shows both sessions with their tokens", async () => {
  const { data, error } = await laptop.client.listSessions();
  assert.equal(error, null);
  assert.deepEqual(
    data.map((s) => s.token).sort(),
    [raw(laptop.state.token), raw(phone.state.token)].sort(),
  );
  assert.ok(data.every((s) => s.expiresAt instanceof Date), "dates parse");
});

await step("revokeSession ends the other device's session", async () => {
  const { data, error } = await laptop.client.revokeSession({ token: raw(phone.state.token) });
  assert.equal(error, null);
  assert.equal(data.status, true);
  assert.equal((await phone.client.getSession()).data, null);
  assert.equal((await laptop.client.getSession()).data.user.email, email);
});

await step("revokeOtherSessions keeps the current one", async () => {
  assert.equal((await phone.client.signIn.email({ email, password })).error, null);
  const { data, error } = await laptop.client.revokeOtherSessions();
  assert.equal(error, null);
  assert.equal(data.status, true);
  assert.equal((await phone.client.getSession()).data, null);
  assert.ok((await laptop.client.getSession()).data);
});

await step("updateUser renames and sets an image", async () => {
  const { data, error } = await laptop.client.updateUser({ name: "Renamed", image: "https://img.example/a.png" });
  assert.equal(error, null);
  assert.equal(data.status, true);
  const session = (await laptop.client.getSession()).data;
  assert.equal(session.user.name, "Renamed");
  assert.equal(session.user.image, "https://img.example/a.png");
});

await step("updateUser refuses an empty name with a 400", async () => {
  const { data, error } = await laptop.client.updateUser({ name: "" });
  assert.equal(data, null);
  assert.equal(error.status, 400);
  assert.ok(error.message.includes("name"), error.message);
});

await step("changePassword refuses a wrong current password", async () => {
  const { data, error } = await laptop.client.changePassword({ currentPassword: "not it at all", newPassword: "a newer password" });
  assert.equal(data, null);
  assert.equal(error.status, 400);
  assert.equal(error.code, "INVALID_PASSWORD");
});

await step("changePassword with revokeOtherSessions hands back a fresh session", async () => {
  assert.equal((await phone.client.signIn.email({ email, password })).error, null);
  const before = laptop.state.token;
  const { data, error } = await laptop.client.changePassword({
    currentPassword: password,
    newPassword: "a newer password",
    revokeOtherSessions: true,
  });
  assert.equal(error, null);
  password = "a newer password";
  assert.ok(data.token);
  assert.equal(data.user.email, email);
  assert.notEqual(laptop.state.token, before);
  assert.equal(raw(laptop.state.token), data.token);
  assert.equal((await phone.client.getSession()).data, null);
  assert.ok((await laptop.client.getSession()).data);
  assert.equal((await phone.client.signIn.email({ email, password })).error, null);
});

await step("changeEmail takes effect through the link mailed to the new address", async () => {
  const { data, error } = await laptop.client.changeEmail({ newEmail });
  assert.equal(error, null);
  assert.equal(data.status, true);
  assert.equal((await laptop.client.getSession()).data.user.email, email);
  const verified = await laptop.client.verifyEmail({ query: { token: await mailedToken(newEmail) } });
  assert.equal(verified.error, null);
  const session = (await laptop.client.getSession()).data;
  assert.equal(session.user.email, newEmail);
  assert.equal(session.user.emailVerified, true);
});

await step("revokeSessions ends every session", async () => {
  const { data, error } = await laptop.client.revokeSessions();
  assert.equal(error, null);
  assert.equal(data.status, true);
  assert.equal((await laptop.client.getSession()).data, null);
  assert.equal((await phone.client.getSession()).data, null);
  const { error: signInError } = await laptop.client.signIn.email({ email: newEmail, password });
  assert.equal(signInError, null);
});

finish();
