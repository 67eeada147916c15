//! Ids parsed at the edge (`tenantry_db::ids`, `page::parse_cursor`,
//! `MemberRole::parse`): what reaches a query as an id.
//!
//! Properties, for any text:
//!
//! - `OrganizationId::parse` and `UserId::parse` never panic and accept
//!   exactly what `uuid::Uuid::try_parse` accepts after trimming; an accepted
//!   id prints as the canonical 36-character lower-case hyphenated form, which
//!   parses back to the same id, through `FromStr` and serde alike; a refusal
//!   is `InvalidInput` naming the field (`organizationId`, `userId`).
//! - Deserialising the text as a JSON string (what a request body does)
//!   agrees with `parse` whenever the text has no surrounding whitespace.
//! - `parse_cursor` never panics; a cursor it accepts names a time after
//!   1970, and `cursor_of` of the result reads back to the same position.
//! - `MemberRole::parse` accepts exactly `owner`, `admin` and `member`, and
//!   `as_str` gives the name back.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tenantry_db::page::{cursor_of, parse_cursor};
use tenantry_db::{
    DbError, InvitationId, MemberId, MemberRole, OrganizationId, PatId, ProjectId, UserId,
};
use uuid::Uuid;

macro_rules! check_id {
    ($ty:ty, $field:literal, $text:expr) => {{
        let text: &str = $text;
        let oracle = Uuid::try_parse(text.trim());
        match <$ty>::parse(text) {
            Ok(id) => {
                assert_eq!(Ok(id.as_uuid()), oracle.clone(), "{text:?}");
                let printed = id.to_string();
                assert_eq!(printed.len(), 36, "{printed}");
                assert_eq!(printed, id.as_uuid().hyphenated().to_string());
                assert!(
                    !printed.chars().any(|c| c.is_ascii_uppercase()),
                    "{printed}"
                );
                assert_eq!(<$ty>::parse(&printed).ok(), Some(id));
                assert_eq!(printed.parse::<$ty>().ok(), Some(id));
                let json = serde_json::to_string(&id).unwrap();
                assert_eq!(json, format!("\"{printed}\""));
                assert_eq!(serde_json::from_str::<$ty>(&json).ok(), Some(id));
            }
            Err(error) => {
                assert!(oracle.is_err(), "refused {text:?}, a UUID");
                assert_eq!(error.field, $field);
            }
        }
        if text.trim() == text {
            let from_json = serde_json::from_value::<$ty>(serde_json::Value::String(text.into()));
            assert_eq!(
                from_json.ok(),
                <$ty>::parse(text).ok(),
                "{text:?} from JSON"
            );
        }
    }};
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_id!(OrganizationId, "organizationId", text);
    check_id!(UserId, "userId", text);
    check_id!(ProjectId, "projectId", text);
    check_id!(MemberId, "memberId", text);
    check_id!(InvitationId, "invitationId", text);
    check_id!(PatId, "tokenId", text);

    match parse_cursor(text) {
        Ok((created_at, id)) => {
            assert!(created_at.timestamp_micros() >= 0, "{text:?}");
            let again = cursor_of(created_at, id);
            assert_eq!(
                parse_cursor(&again).ok(),
                Some((created_at, id)),
                "{text:?}"
            );
        }
        Err(DbError::InvalidInput { field, .. }) => assert_eq!(field, "cursor"),
        Err(other) => panic!("parse_cursor({text:?}): {other:?}"),
    }

    match MemberRole::parse(text) {
        Ok(role) => {
            assert!(matches!(text, "owner" | "admin" | "member"), "{text:?}");
            assert_eq!(role.as_str(), text);
        }
        Err(error) => {
            assert!(!matches!(text, "owner" | "admin" | "member"));
            assert_eq!(error.field, "role");
        }
    }
});
