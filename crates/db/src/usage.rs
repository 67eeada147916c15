//! AI usage: recording events and reporting tokens and cost.
//!
//! Cost is derived, never stored: each event is priced with the
//! `ai_model_pricing` row valid at the event's time.

use chrono::{DateTime, Duration, NaiveDate, SubsecRound, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::append_audit;
use crate::context::{TenantStatements, TenantTx};
use crate::error::{DbError, Result};
use crate::ids::ProjectId;
use crate::statements::Query;

/// Most tokens one event may claim, in or out.
pub const MAX_TOKENS_PER_EVENT: i64 = 100_000_000;
/// Longest range a report may cover.
pub const MAX_REPORT_DAYS: i64 = 366;

/// A recorded usage event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UsageEvent {
    /// The event's id.
    pub id: Uuid,
    /// The project it belongs to, if any.
    pub project_id: Option<Uuid>,
    /// The model's name, e.g. `gpt-4o`.
    pub model: String,
    /// Prompt tokens.
    pub input_tokens: i64,
    /// Completion tokens.
    pub output_tokens: i64,
    /// When the model was called.
    pub occurred_at: DateTime<Utc>,
}

/// What to record.
#[derive(Clone, Debug)]
pub struct NewUsage<'a> {
    /// The model's name (`ai_model.name`).
    pub model: &'a str,
    /// The project, which must belong to the current organization.
    pub project_id: Option<ProjectId>,
    /// Prompt tokens.
    pub input_tokens: i64,
    /// Completion tokens.
    pub output_tokens: i64,
    /// When; now if absent.
    pub occurred_at: Option<DateTime<Utc>>,
}

/// Record one event. An unknown model or a project outside the current
/// organization is invalid input (the two look the same to the caller).
pub async fn record_usage(tx: &TenantTx, new: NewUsage<'_>) -> Result<UsageEvent> {
    for (field, tokens) in [
        ("inputTokens", new.input_tokens),
        ("outputTokens", new.output_tokens),
    ] {
        if !(0..=MAX_TOKENS_PER_EVENT).contains(&tokens) {
            return Err(DbError::invalid(
                field,
                format!("must be between 0 and {MAX_TOKENS_PER_EVENT}"),
            ));
        }
    }
    let now = Utc::now();
    // PostgreSQL keeps microseconds; answer with what is stored.
    let occurred_at = new.occurred_at.unwrap_or(now).trunc_subsecs(6);
    if occurred_at > now + Duration::minutes(5) {
        return Err(DbError::invalid("occurredAt", "must not be in the future"));
    }
    if occurred_at < earliest_event() {
        return Err(DbError::invalid("occurredAt", "must be after 2000-01-01"));
    }
    let model_id = find_model(tx, new.model).await?;
    let row = tx
        .query_one(
            "insert into usage_event (project_id, model_id, input_tokens, output_tokens, occurred_at)
             values ($1, $2, $3, $4, $5) returning id",
            &[&new.project_id, &model_id, &new.input_tokens, &new.output_tokens, &occurred_at],
        )
        .await
        .map_err(|e| match e {
            DbError::MissingReference { .. } => DbError::invalid("projectId", "no such project"),
            other => other,
        })?;
    let id: Uuid = row.get(0);
    append_audit(
        tx,
        "usage.record",
        "usage_event",
        &id.to_string(),
        json!({ "model": new.model, "inputTokens": new.input_tokens, "outputTokens": new.output_tokens }),
    )
    .await?;
    Ok(UsageEvent {
        id,
        project_id: new.project_id.map(|id| id.as_uuid()),
        model: new.model.to_owned(),
        input_tokens: new.input_tokens,
        output_tokens: new.output_tokens,
        occurred_at,
    })
}

/// Longest model reference accepted, in bytes (`provider/name`).
pub const MAX_MODEL_NAME_BYTES: usize = 200;

/// Check the shape of a model reference before it is looked up: 1 to
/// [`MAX_MODEL_NAME_BYTES`] bytes, no control characters (no model has
/// them, and PostgreSQL text cannot hold NUL). Pure: run before any query.
pub fn validate_model_name(model: &str) -> Result<&str> {
    if model.is_empty() || model.len() > MAX_MODEL_NAME_BYTES || model.chars().any(char::is_control)
    {
        return Err(DbError::invalid("model", "must name a model"));
    }
    Ok(model)
}

fn earliest_event() -> DateTime<Utc> {
    DateTime::from_timestamp(946_684_800, 0).expect("2000-01-01 is a valid time")
}

/// A model by `name` or `provider/name`; a bare name that two providers use
/// is ambiguous and must be qualified.
async fn find_model(tx: &impl TenantStatements, model: &str) -> Result<Uuid> {
    validate_model_name(model)?;
    let rows = tx
        .query(
            "select id from ai_model where name = $1 or provider || '/' || name = $1 limit 2",
            &[&model],
        )
        .await?;
    match rows.as_slice() {
        [row] => Ok(row.get(0)),
        [] => Err(DbError::invalid("model", "unknown model")),
        _ => Err(DbError::invalid(
            "model",
            "ambiguous: write it as provider/name",
        )),
    }
}

/// Tokens and cost for one model on one day (UTC).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UsageReportRow {
    /// The day, UTC.
    pub day: NaiveDate,
    /// The model's provider.
    pub provider: String,
    /// The model's name.
    pub model: String,
    /// Number of events.
    pub events: i64,
    /// Prompt tokens.
    pub input_tokens: i64,
    /// Completion tokens.
    pub output_tokens: i64,
    /// Cost in US dollars at the prices valid when each event happened.
    pub cost_usd: f64,
    /// Events with no price known for their time (counted at zero cost).
    pub unpriced_events: i64,
}

/// Totals for one model over the whole range.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UsageModelTotal {
    /// The model's provider.
    pub provider: String,
    /// The model's name.
    pub model: String,
    /// Prompt tokens.
    pub input_tokens: i64,
    /// Completion tokens.
    pub output_tokens: i64,
    /// Cost in US dollars.
    pub cost_usd: f64,
}

/// A usage report over `[from, to)`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UsageReport {
    /// Start of the range (inclusive).
    pub from: DateTime<Utc>,
    /// End of the range (exclusive).
    pub to: DateTime<Utc>,
    /// Per model and day.
    pub days: Vec<UsageReportRow>,
    /// Per model.
    pub models: Vec<UsageModelTotal>,
    /// Cost of everything in the range.
    pub total_cost_usd: f64,
}

/// Tokens and cost per model and per day over `[from, to)`.
pub async fn usage_report(
    tx: &impl TenantStatements,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<UsageReport> {
    if from >= to {
        return Err(DbError::invalid("to", "must be after from"));
    }
    if from < earliest_event() {
        return Err(DbError::invalid("from", "must be after 2000-01-01"));
    }
    if to - from > Duration::days(MAX_REPORT_DAYS) {
        return Err(DbError::invalid(
            "to",
            format!("the range may span at most {MAX_REPORT_DAYS} days"),
        ));
    }
    let rows = tx
        .query(
            "select (e.occurred_at at time zone 'UTC')::date as day, m.provider, m.name,
                    count(*) as events,
                    sum(e.input_tokens)::bigint as input_tokens,
                    sum(e.output_tokens)::bigint as output_tokens,
                    coalesce(sum((e.input_tokens * p.input_usd_per_million
                                + e.output_tokens * p.output_usd_per_million) / 1000000), 0)::float8 as cost_usd,
                    count(*) filter (where p.id is null) as unpriced_events
             from usage_event e
             join ai_model m on m.id = e.model_id
             left join ai_model_pricing p on p.model_id = e.model_id
                  and p.valid_from <= e.occurred_at
                  and (p.valid_until is null or e.occurred_at < p.valid_until)
             where e.occurred_at >= $1 and e.occurred_at < $2
             group by 1, 2, 3
             order by 1, 2, 3",
            &[&from, &to],
        )
        .await?;
    let days: Vec<UsageReportRow> = rows
        .iter()
        .map(|row| UsageReportRow {
            day: row.get("day"),
            provider: row.get("provider"),
            model: row.get("name"),
            events: row.get("events"),
            input_tokens: row.get("input_tokens"),
            output_tokens: row.get("output_tokens"),
            cost_usd: row.get("cost_usd"),
            unpriced_events: row.get("unpriced_events"),
        })
        .collect();
    Ok(UsageReport {
        from,
        to,
        models: totals_per_model(&days),
        total_cost_usd: days.iter().map(|d| d.cost_usd).sum(),
        days,
    })
}

fn totals_per_model(days: &[UsageReportRow]) -> Vec<UsageModelTotal> {
    let mut totals: Vec<UsageModelTotal> = Vec::new();
    for day in days {
        match totals
            .iter_mut()
            .find(|t| t.provider == day.provider && t.model == day.model)
        {
            Some(total) => {
                total.input_tokens += day.input_tokens;
                total.output_tokens += day.output_tokens;
                total.cost_usd += day.cost_usd;
            }
            None => totals.push(UsageModelTotal {
                provider: day.provider.clone(),
                model: day.model.clone(),
                input_tokens: day.input_tokens,
                output_tokens: day.output_tokens,
                cost_usd: day.cost_usd,
            }),
        }
    }
    totals.sort_by(|a, b| (&a.provider, &a.model).cmp(&(&b.provider, &b.model)));
    totals
}
