//! Pagination shared by list queries.

use serde::Serialize;

use crate::error::{DbError, Result};

/// Largest page any list returns.
pub const MAX_PAGE_SIZE: i64 = 100;
/// Page size when the caller names none.
pub const DEFAULT_PAGE_SIZE: i64 = 20;

/// One page of a list, with the cursor for the next one.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A validated page size.
pub fn page_size(requested: Option<i64>) -> Result<i64> {
    match requested {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
        Some(_) => Err(DbError::invalid(
            "limit",
            format!("must be between 1 and {MAX_PAGE_SIZE}"),
        )),
    }
}

/// Build a page from `limit + 1` fetched rows: the extra row only says
/// whether there is more.
pub fn paginate<T>(mut rows: Vec<T>, limit: i64, cursor_of: impl Fn(&T) -> String) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(cursor_of)
    } else {
        None
    };
    Page {
        items: rows,
        next_cursor,
    }
}

/// The opaque cursor of a row ordered by `(created_at, id)`.
pub fn cursor_of(created_at: chrono::DateTime<chrono::Utc>, id: uuid::Uuid) -> String {
    format!("{}_{id}", created_at.timestamp_micros())
}

/// Read a cursor made by [`cursor_of`]; anything else is invalid input.
pub fn parse_cursor(cursor: &str) -> Result<(chrono::DateTime<chrono::Utc>, uuid::Uuid)> {
    let malformed = || DbError::invalid("cursor", "malformed cursor");
    let (micros, id) = cursor.split_once('_').ok_or_else(malformed)?;
    // Cursors are made from stored timestamps; anything before 1970 is forged.
    let micros: i64 = micros
        .parse()
        .ok()
        .filter(|m| *m >= 0)
        .ok_or_else(malformed)?;
    let created_at = chrono::DateTime::from_timestamp_micros(micros).ok_or_else(malformed)?;
    let id = uuid::Uuid::try_parse(id).map_err(|_| malformed())?;
    Ok((created_at, id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use uuid::Uuid;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = Uuid::new_v4();
        let at = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        assert_eq!(
            parse_cursor(&format!("{}_{id}", at.timestamp_micros())).unwrap(),
            (at, id)
        );
        for bad in [
            "",
            "_",
            "12_notauuid",
            "x_0190c6c4-9f5e-7a51-8b4e-3f1f6c0d2a11",
            "99999999999999999999_x",
        ] {
            assert!(parse_cursor(bad).is_err(), "{bad}");
        }
    }
}
