// What every script here shares: the server's address from the command line,
// a Better Auth client (with the organization plugin) that keeps its session
// as a bearer token, as a Node back end would, mail read through whoever runs
// the script, and numbered steps that stop at the first failure.
//
// Mail: the script prints `mailbox? <email>` and expects the token of the
// link mailed there on stdin (crates/api/tests/better_auth_client.rs answers
// from the server's mailer). The last line is `N passed, 0 failed`, or
// `N passed, 1 failed` and exit code 1.
import assert from "node:assert/strict";
import readline from "node:readline";
import { createAuthClient } from "better-auth/client";
import { organizationClient } from "better-auth/client/plugins";

export const baseURL = process.argv[2];
assert.ok(baseURL, `usage: node ${process.argv[1]} <base URL>`);

const input = readline.createInterface({ input: process.stdin });
const answers = input[Symbol.asyncIterator]();

export async function mailedToken(email) {
  console.log(`mailbox? ${email}`);
  const { value, done } = await answers.next();
  assert.ok(!done && value, `no token for the mailbox of ${email}`);
  return value.trim();
}

export function clientWithBearer() {
  const state = { token: null };
  const client = createAuthClient({
    baseURL,
    plugins: [organizationClient()],
    fetchOptions: {
      // A real Better Auth server insists on an Origin for sign-in/up from Node.
      headers: { origin: baseURL },
      auth: { type: "Bearer", token: () => state.token },
      onSuccess: (ctx) => {
        const token = ctx.response.headers.get("set-auth-token");
        if (token) state.token = token;
      },
    },
  });
  return { client, state };
}

/** A suffix that keeps one run's emails and slugs apart from another's. */
export const unique = Date.now().toString(36) + Math.random().toString(36).slice(2, 6);

let passed = 0;

export async function step(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (error) {
    console.log(`not ok - ${name}`);
    console.log(error);
    console.log(`${passed} passed, 1 failed`);
    process.exit(1);
  }
}

/** The last line the Rust test reads; then let stdin go so Node can exit. */
export function finish() {
  console.log(`${passed} passed, 0 failed`);
  input.close();
}
