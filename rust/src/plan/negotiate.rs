//! Content negotiation for reads: the first `Accept` entry (in preference order) that a table or view
//! can produce wins; none → 406 PGRST107 (PostgREST's code, although its docs say 415).

use crate::api_request::{to_mime, MediaType};
use crate::error::{ApiError, ApiResult};
use crate::plan::types::Media;
use crate::settings::Settings;

/// Pick the response media for a read on a relation.
pub fn negotiate_read(accept: &[MediaType], settings: &Settings) -> ApiResult<Media> {
    if accept.is_empty() {
        return Ok(Media::Json);
    }
    for media in accept {
        let chosen = match media {
            MediaType::Json | MediaType::Any => Some(Media::Json),
            MediaType::SingularJson { nulls_stripped } => Some(Media::Singular {
                nulls_stripped: *nulls_stripped,
            }),
            MediaType::ArrayJsonStripped => Some(Media::ArrayStripped),
            MediaType::Csv => Some(Media::Csv),
            MediaType::Plan { .. } if settings.db_plan_enabled => return Err(not_implemented_plan()),
            _ => None,
        };
        if let Some(m) = chosen {
            return Ok(m);
        }
    }
    Err(not_acceptable(accept))
}

/// 406 PGRST107, listing the requested types as PostgREST does.
pub fn not_acceptable(accept: &[MediaType]) -> ApiError {
    let list: Vec<String> = accept.iter().map(to_mime).collect();
    ApiError::new(
        406,
        "PGRST107",
        format!("None of these media types are available: {}", list.join(", ")),
    )
}

fn not_implemented_plan() -> ApiError {
    ApiError::new(400, "PGRST127", "Feature not implemented")
        .details("The execution plan media type (application/vnd.pgrst.plan) is not implemented yet")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_producible_wins() {
        let s = Settings::default();
        let accept = [
            MediaType::Other("text/unknown".into()),
            MediaType::Csv,
            MediaType::Json,
        ];
        assert_eq!(negotiate_read(&accept, &s), Ok(Media::Csv));
        assert_eq!(negotiate_read(&[], &s), Ok(Media::Json));
        assert_eq!(negotiate_read(&[MediaType::Any], &s), Ok(Media::Json));
    }

    #[test]
    fn nothing_producible_is_406() {
        let s = Settings::default();
        let err = negotiate_read(&[MediaType::OpenApi, MediaType::Other("text/x".into())], &s).unwrap_err();
        assert_eq!((err.status, err.code), (406, "PGRST107"));
        assert_eq!(
            err.message,
            "None of these media types are available: application/openapi+json, text/x"
        );
        let plan = MediaType::Plan {
            text: false,
            for_media: None,
            options: vec![],
        };
        assert_eq!(negotiate_read(&[plan], &s).unwrap_err().code, "PGRST107");
    }
}
