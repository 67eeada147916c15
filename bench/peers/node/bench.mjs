// The seed's stack as a benchmark peer: drizzle-orm over node-postgres, with
// the seed's withTenantContext (a transaction that sets the tenant with
// set_config(..., true) and takes the `authenticated` role, then runs the
// caller's query). N concurrent loops for T seconds; prints
// {"tps":..,"ops":..,"seconds":..} on stdout.
//
//   node bench.mjs URL CLIENTS SECONDS ROWS TENANTS
import pg from "pg";
import { drizzle } from "drizzle-orm/node-postgres";
import { pgTable, uuid, text } from "drizzle-orm/pg-core";
import { eq, sql } from "drizzle-orm";

const [url, clients, seconds, rows, tenants] = process.argv.slice(2);
if (!tenants) {
  console.error("usage: node bench.mjs URL CLIENTS SECONDS ROWS TENANTS");
  process.exit(2);
}
const CLIENTS = Number(clients);
const SECONDS = Number(seconds);
const ROWS = Number(rows);
const TENANTS = Number(tenants);

// The columns the read touches; the real table has more.
const project = pgTable("project", {
  organizationId: uuid("organization_id").notNull(),
  id: uuid("id").notNull(),
  name: text("name").notNull(),
});

const pool = new pg.Pool({ connectionString: url, max: CLIENTS });
const db = drizzle(pool);

// The seed's pattern (packages/db: withTenantContext). The pooled login is
// NOINHERIT, as in tenantry, so the role is taken inside the transaction.
async function withTenantContext(organizationId, fn) {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('app.tenant_id', ${organizationId}, true)`);
    await tx.execute(sql`set local role authenticated`);
    return fn(tx);
  });
}

// The bench's deterministic ids (bench/src/data.rs).
const hex12 = (n) => n.toString(16).padStart(12, "0");
const orgUuid = (o) => `00000000-0000-4000-a000-${hex12(o)}`;
const projectUuid = (g) => `00000000-0000-4000-8000-${hex12(g)}`;

let counting = false;
let stop = false;
let ops = 0;

async function loop() {
  while (!stop) {
    const g = 1 + Math.floor(Math.random() * ROWS);
    const found = await withTenantContext(orgUuid(1 + (g % TENANTS)), (tx) =>
      tx.select({ name: project.name }).from(project).where(eq(project.id, projectUuid(g))),
    );
    if (found.length !== 1) throw new Error(`row ${g} not visible to its tenant`);
    if (counting) ops++;
  }
}

const loops = Array.from({ length: CLIENTS }, loop);
// Warm up: open every connection before counting.
await new Promise((r) => setTimeout(r, 300));
counting = true;
const started = process.hrtime.bigint();
await new Promise((r) => setTimeout(r, SECONDS * 1000));
const done = ops;
const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
stop = true;
await Promise.all(loops);
await pool.end();
console.log(JSON.stringify({ tps: done / elapsed, ops: done, seconds: elapsed }));
