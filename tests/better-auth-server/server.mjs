// Better Auth's own server (npm better-auth, pg) on a tenantry database: the
// configuration docs/better-auth.md describes, served over HTTP on a free
// port of 127.0.0.1. crates/api/tests/better_auth_server.rs starts it beside
// a running tenantry and drives both.
//
// Environment: DATABASE_URL (the login Better Auth connects as; see
// role.sql), BETTER_AUTH_SECRET (the same secret as tenantry's). Prints
// `listening <base URL>` once it accepts requests; stops when stdin closes,
// so it never outlives the test that started it.
import http from "node:http";
import pg from "pg";
import { betterAuth } from "better-auth";
import { organization } from "better-auth/plugins";
import { toNodeHandler } from "better-auth/node";

const { DATABASE_URL, BETTER_AUTH_SECRET } = process.env;
if (!DATABASE_URL || !BETTER_AUTH_SECRET) {
  console.error("set DATABASE_URL and BETTER_AUTH_SECRET");
  process.exit(2);
}

// tenantry's columns are snake_case; Better Auth's field names are camelCase.
// Every field of every table Better Auth reads or writes is mapped, table
// names are Better Auth's own (user, session, account, verification,
// organization, member, invitation).
const at = { createdAt: "created_at", updatedAt: "updated_at" };
function options({ baseURL, pool, secret }) {
  return {
    baseURL,
    secret,
    database: pool,
    advanced: { database: { generateId: "uuid" } },
    // tenantry ends every session of a user whose password is reset.
    emailAndPassword: { enabled: true, revokeSessionsOnPasswordReset: true },
    user: { fields: { emailVerified: "email_verified", ...at } },
    session: {
      fields: {
        expiresAt: "expires_at",
        ipAddress: "ip_address",
        userAgent: "user_agent",
        userId: "user_id",
        ...at,
      },
    },
    account: {
      fields: {
        accountId: "account_id",
        providerId: "provider_id",
        userId: "user_id",
        accessToken: "access_token",
        refreshToken: "refresh_token",
        idToken: "id_token",
        accessTokenExpiresAt: "access_token_expires_at",
        refreshTokenExpiresAt: "refresh_token_expires_at",
        ...at,
      },
    },
    verification: { fields: { expiresAt: "expires_at", ...at } },
    plugins: [
      organization({
        // tenantry asks for a verified email before an invitation is
        // accepted; so does this side, or the rule would depend on where
        // the invitee clicks.
        requireEmailVerificationOnInvitation: true,
        schema: {
          organization: { fields: { createdAt: "created_at" } },
          member: {
            fields: {
              organizationId: "organization_id",
              userId: "user_id",
              createdAt: "created_at",
            },
          },
          invitation: {
            fields: {
              organizationId: "organization_id",
              inviterId: "inviter_id",
              expiresAt: "expires_at",
              createdAt: "created_at",
            },
          },
          session: { fields: { activeOrganizationId: "active_organization_id" } },
        },
      }),
    ],
  };
}

const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4 });
const server = http.createServer();
server.listen(0, "127.0.0.1", () => {
  const baseURL = `http://127.0.0.1:${server.address().port}`;
  const auth = betterAuth(options({ baseURL, pool, secret: BETTER_AUTH_SECRET }));
  server.on("request", toNodeHandler(auth));
  console.log(`listening ${baseURL}`);
});

process.stdin.resume();
process.stdin.on("end", async () => {
  server.close();
  await pool.end();
  process.exit(0);
});
