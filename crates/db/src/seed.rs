//! `tenantry seed`: reference data and demo data, loaded idempotently.
//!
//! Runs as the owner (reason `Seed`) in one transaction, because it writes
//! across tenants. Every row has a fixed id, so running it again changes
//! nothing. The owner must be a superuser or have BYPASSRLS (tenant tables
//! force RLS even on their owner).

use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

use crate::client::{self, BypassReason};
use crate::database::Database;
use crate::error::Result;

/// What the seed loads, for callers (tests, the CLI's summary) to refer to.
pub mod demo {
    use uuid::Uuid;

    const fn id(kind: u128, n: u128) -> Uuid {
        Uuid::from_u128(0x5eed0000_0000_4000_8000_000000000000 | (kind << 16) | n)
    }

    /// Acme Corp: Alice (owner) and Dave (member).
    pub const ACME: Uuid = id(1, 1);
    /// Globex: Bob (owner) and Alice (member).
    pub const GLOBEX: Uuid = id(1, 2);
    /// Initech: Carol (owner).
    pub const INITECH: Uuid = id(1, 3);

    /// alice@example.com, in two organizations.
    pub const ALICE: Uuid = id(2, 1);
    /// bob@example.com.
    pub const BOB: Uuid = id(2, 2);
    /// carol@example.com.
    pub const CAROL: Uuid = id(2, 3);
    /// dave@example.com.
    pub const DAVE: Uuid = id(2, 4);

    /// Every demo user signs in with this password.
    pub const PASSWORD: &str = "tenantry-demo";
    /// Its argon2id hash (made once with `tenantry_auth::password::hash_password`;
    /// this crate does not depend on the auth crate).
    pub(super) const PASSWORD_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$XxffLOuTzgMA0OgUur2uLw$mjW8jvZtAb66kFYaEDoc38v1EhOoib9X4RkbjcrQVEQ";

    pub(super) const fn member(n: u128) -> Uuid {
        id(3, n)
    }
    pub(super) const fn project(n: u128) -> Uuid {
        id(4, n)
    }
    pub(super) const fn usage(n: u128) -> Uuid {
        id(5, n)
    }
    pub(super) const fn invitation(n: u128) -> Uuid {
        id(6, n)
    }
    pub(super) const fn model(n: u128) -> Uuid {
        id(7, n)
    }
    pub(super) const fn price(n: u128) -> Uuid {
        id(8, n)
    }
}

/// Row counts after seeding, per table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// Rows inserted by this run (0 when everything was already there).
    pub inserted: u64,
}

struct Model {
    n: u128,
    provider: &'static str,
    name: &'static str,
    display_name: &'static str,
    /// (valid_from, valid_until, input, output) in USD per million tokens.
    prices: &'static [(
        &'static str,
        Option<&'static str>,
        &'static str,
        &'static str,
    )],
}

/// Public list prices per million tokens.
const MODELS: &[Model] = &[
    Model {
        n: 1,
        provider: "openai",
        name: "gpt-4o",
        display_name: "GPT-4o",
        prices: &[
            ("2024-05-13", Some("2024-08-06"), "5.00", "15.00"),
            ("2024-08-06", None, "2.50", "10.00"),
        ],
    },
    Model {
        n: 2,
        provider: "openai",
        name: "gpt-4o-mini",
        display_name: "GPT-4o mini",
        prices: &[("2024-07-18", None, "0.15", "0.60")],
    },
    Model {
        n: 3,
        provider: "anthropic",
        name: "claude-3-5-sonnet-20241022",
        display_name: "Claude 3.5 Sonnet",
        prices: &[("2024-10-22", None, "3.00", "15.00")],
    },
    Model {
        n: 4,
        provider: "anthropic",
        name: "claude-3-5-haiku-20241022",
        display_name: "Claude 3.5 Haiku",
        prices: &[("2024-11-04", None, "0.80", "4.00")],
    },
    Model {
        n: 5,
        provider: "google",
        name: "gemini-1.5-pro",
        display_name: "Gemini 1.5 Pro",
        prices: &[("2024-10-01", None, "1.25", "5.00")],
    },
    Model {
        n: 6,
        provider: "mistral",
        name: "mistral-large-2411",
        display_name: "Mistral Large 24.11",
        prices: &[("2024-11-18", None, "2.00", "6.00")],
    },
];

/// Load reference data and demo data. Idempotent.
///
/// # Examples
///
/// ```no_run
/// # async fn example(db: tenantry_db::Database) -> tenantry_db::Result<()> {
/// tenantry_db::migrate(&db).await?;
/// let report = tenantry_db::seed(&db).await?;
/// println!("{} rows inserted", report.inserted); // 0 on a second run
/// # Ok(()) }
/// ```
#[tracing::instrument(skip(db))]
pub async fn seed(db: &Database) -> Result<SeedReport> {
    let mut conn = client::bare(db, BypassReason::Seed).await?;
    let tx = conn.connection_mut().transaction().await?;
    let mut inserted = 0;

    let mut price_n = 0;
    for model in MODELS {
        inserted += tx
            .execute(
                "insert into ai_model (id, provider, name, display_name) values ($1, $2, $3, $4)
                 on conflict do nothing",
                &[
                    &demo::model(model.n),
                    &model.provider,
                    &model.name,
                    &model.display_name,
                ],
            )
            .await?;
        for (from, until, input, output) in model.prices {
            price_n += 1;
            inserted += tx
                .execute(
                    "insert into ai_model_pricing
                       (id, model_id, valid_from, valid_until, input_usd_per_million, output_usd_per_million)
                     values ($1, $2, $3::text::timestamptz, $4::text::timestamptz, $5::text::numeric, $6::text::numeric)
                     on conflict do nothing",
                    &[&demo::price(price_n), &demo::model(model.n), from, until, input, output],
                )
                .await?;
        }
    }

    for (id, name, email) in [
        (demo::ALICE, "Alice Anders", "alice@example.com"),
        (demo::BOB, "Bob Brandt", "bob@example.com"),
        (demo::CAROL, "Carol Chen", "carol@example.com"),
        (demo::DAVE, "Dave Diaz", "dave@example.com"),
    ] {
        inserted += tx
            .execute(
                "insert into \"user\" (id, name, email, email_verified) values ($1, $2, $3, true)
                 on conflict do nothing",
                &[&id, &name, &email],
            )
            .await?;
        inserted += tx
            .execute(
                "insert into account (user_id, account_id, provider_id, password)
                 values ($1, $2, 'credential', $3) on conflict do nothing",
                &[&id, &id.to_string(), &demo::PASSWORD_HASH],
            )
            .await?;
    }

    for (id, name, slug) in [
        (demo::ACME, "Acme Corp", "acme"),
        (demo::GLOBEX, "Globex", "globex"),
        (demo::INITECH, "Initech", "initech"),
    ] {
        inserted += tx
            .execute(
                "insert into organization (id, name, slug) values ($1, $2, $3) on conflict do nothing",
                &[&id, &name, &slug],
            )
            .await?;
    }

    for (n, org, user, role) in [
        (1, demo::ACME, demo::ALICE, "owner"),
        (2, demo::ACME, demo::DAVE, "member"),
        (3, demo::GLOBEX, demo::BOB, "owner"),
        (4, demo::GLOBEX, demo::ALICE, "member"),
        (5, demo::INITECH, demo::CAROL, "owner"),
    ] {
        inserted += tx
            .execute(
                "insert into member (organization_id, id, user_id, role, created_at)
                 values ($1, $2, $3, $4, $5) on conflict do nothing",
                &[
                    &org,
                    &demo::member(n),
                    &user,
                    &role,
                    &at(2026, 10, n as u32),
                ],
            )
            .await?;
    }

    for (n, org, email, inviter) in [
        // Only addresses of existing demo users: an invitation to an
        // unregistered address could be claimed by whoever signs up with it.
        (1, demo::ACME, "bob@example.com", demo::ALICE),
        (2, demo::GLOBEX, "carol@example.com", demo::BOB),
    ] {
        inserted += tx
            .execute(
                "insert into invitation (organization_id, id, email, role, status, expires_at, inviter_id)
                 values ($1, $2, $3, 'member', 'pending', '2099-01-01', $4) on conflict do nothing",
                &[&org, &demo::invitation(n), &email, &inviter],
            )
            .await?;
    }

    // The same project name in two organizations: names are unique per tenant only.
    let projects = [
        (
            1,
            demo::ACME,
            demo::ALICE,
            "Website relaunch",
            "New marketing site with an AI writer.",
        ),
        (
            2,
            demo::ACME,
            demo::ALICE,
            "Support bot",
            "First-line answers for customer tickets.",
        ),
        (
            3,
            demo::GLOBEX,
            demo::BOB,
            "Support bot",
            "Globex's own support assistant.",
        ),
        (
            4,
            demo::GLOBEX,
            demo::BOB,
            "Demand forecasting",
            "Weekly forecasts from sales notes.",
        ),
        (
            5,
            demo::INITECH,
            demo::CAROL,
            "TPS reports",
            "Summaries of TPS reports.",
        ),
    ];
    for (n, org, creator, name, description) in projects {
        inserted += tx
            .execute(
                "insert into project (organization_id, id, name, description, created_by, created_at, updated_at)
                 values ($1, $2, $3, $4, $5, $6, $6) on conflict do nothing",
                &[&org, &demo::project(n), &name, &description, &creator, &at(2026, 10, 10 + n as u32)],
            )
            .await?;
        inserted += insert_audit_once(
            &tx,
            org,
            creator,
            "project.create",
            demo::project(n),
            serde_json::json!({ "name": name }),
        )
        .await?;
    }

    // Usage: (n, org, project, model, user, input, output, day of November 2026).
    let usage = [
        (1, demo::ACME, 1, 1, demo::ALICE, 12_000, 3_000, 2),
        (2, demo::ACME, 1, 2, demo::DAVE, 40_000, 9_000, 3),
        (3, demo::ACME, 2, 3, demo::ALICE, 8_000, 2_500, 3),
        (4, demo::ACME, 2, 3, demo::DAVE, 15_500, 4_100, 5),
        (5, demo::GLOBEX, 3, 4, demo::BOB, 30_000, 6_000, 2),
        (6, demo::GLOBEX, 4, 1, demo::BOB, 5_000, 1_000, 4),
        (7, demo::GLOBEX, 4, 5, demo::ALICE, 22_000, 7_000, 6),
        (8, demo::INITECH, 5, 6, demo::CAROL, 18_000, 2_000, 4),
    ];
    for (n, org, project, model, user, input, output, day) in usage {
        inserted += tx
            .execute(
                "insert into usage_event
                   (organization_id, id, project_id, model_id, input_tokens, output_tokens, occurred_at, user_id)
                 values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict do nothing",
                &[
                    &org,
                    &demo::usage(n),
                    &demo::project(project),
                    &demo::model(model),
                    &(input as i64),
                    &(output as i64),
                    &at(2026, 11, day),
                    &user,
                ],
            )
            .await?;
    }

    tx.commit().await?;
    Ok(SeedReport { inserted })
}

async fn insert_audit_once(
    tx: &tokio_postgres::Transaction<'_>,
    org: Uuid,
    actor: Uuid,
    action: &str,
    target: Uuid,
    details: serde_json::Value,
) -> Result<u64> {
    let target = target.to_string();
    Ok(tx
        .execute(
            "insert into audit_log (organization_id, actor_user_id, action, target_type, target_id, details)
             select $1, $2, $3, 'project', $4, $5
             where not exists (
                 select 1 from audit_log where organization_id = $1 and action = $3 and target_id = $4)",
            &[&org, &actor, &action, &target, &details],
        )
        .await?)
}

fn at(year: i32, month: u32, day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, 9, 30, 0)
        .single()
        .expect("seed dates are valid")
}
