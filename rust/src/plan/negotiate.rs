//! Content negotiation for reads, writes and calls: the first `Accept` entry (in preference order) that
//! a table, view or function can produce wins; none → 406 PGRST107 (PostgREST's code, although its
//! docs say 415).
//!
//! `application/vnd.pgrst.plan` (only with `db-plan-enabled`) is producible when the media named by its
//! `for=` parameter is: the statement is built for that media and then EXPLAINed instead of run.

use crate::api_request::{to_mime, MediaType};
use crate::error::{ApiError, ApiResult};
use crate::plan::types::Media;
use crate::settings::Settings;

/// An `Accept: application/vnd.pgrst.plan…` request: EXPLAIN the statement instead of running it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explain {
    /// `+text` (also the bare type) rather than `+json`.
    pub text: bool,
    /// Known options only, in PostgREST's canonical order (`analyze`, `verbose`, `settings`,
    /// `buffers`, `wal`); the parser dropped everything else.
    pub options: Vec<String>,
    /// The response `Content-Type`, e.g. `application/vnd.pgrst.plan+json; for="application/json";
    /// charset=utf-8`.
    pub content_type: String,
}

/// Pick the response media for a read, write or call.
pub fn negotiate_read(accept: &[MediaType], settings: &Settings) -> ApiResult<Media> {
    negotiate(accept, settings).map(|(media, _)| media)
}

/// The plan request the negotiation settles on, if any; `None` also when nothing is producible (the
/// plan stage has already answered 406 then).
pub fn explain(accept: &[MediaType], settings: &Settings) -> Option<Explain> {
    negotiate(accept, settings).ok().and_then(|(_, explain)| explain)
}

/// The media the statement is built for, and whether it is EXPLAINed.
fn negotiate(accept: &[MediaType], settings: &Settings) -> ApiResult<(Media, Option<Explain>)> {
    if accept.is_empty() {
        return Ok((Media::Json, None));
    }
    for media in accept {
        if let MediaType::Plan {
            text,
            for_media,
            options,
        } = media
        {
            if !settings.db_plan_enabled {
                continue;
            }
            let target = for_media.as_deref().unwrap_or(&MediaType::Json);
            if let Some(chosen) = producible(target) {
                let explain = Explain {
                    text: *text,
                    options: options.clone(),
                    content_type: format!("{}; charset=utf-8", to_mime(media)),
                };
                return Ok((chosen, Some(explain)));
            }
        } else if let Some(chosen) = producible(media) {
            return Ok((chosen, None));
        }
    }
    Err(not_acceptable(accept))
}

/// The built-in media a relation or function result can be shaped into.
fn producible(media: &MediaType) -> Option<Media> {
    match media {
        MediaType::Json | MediaType::Any => Some(Media::Json),
        MediaType::SingularJson { nulls_stripped } => Some(Media::Singular {
            nulls_stripped: *nulls_stripped,
        }),
        MediaType::ArrayJsonStripped => Some(Media::ArrayStripped),
        MediaType::Csv => Some(Media::Csv),
        _ => None,
    }
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

    fn plan(text: bool, for_media: MediaType, options: &[&str]) -> MediaType {
        MediaType::Plan {
            text,
            for_media: Some(Box::new(for_media)),
            options: options.iter().map(|o| (*o).to_owned()).collect(),
        }
    }

    #[test]
    fn plan_needs_db_plan_enabled() {
        let off = Settings::default();
        let accept = [plan(true, MediaType::Json, &[])];
        assert_eq!(negotiate_read(&accept, &off).unwrap_err().code, "PGRST107");
        assert_eq!(explain(&accept, &off), None);
        // Disabled, a plan entry is skipped like any unknown type.
        let fallback = [plan(true, MediaType::Json, &[]), MediaType::Csv];
        assert_eq!(negotiate(&fallback, &off), Ok((Media::Csv, None)));
    }

    #[test]
    fn plan_is_built_for_its_for_media() {
        let on = Settings {
            db_plan_enabled: true,
            ..Settings::default()
        };
        let accept = [plan(
            false,
            MediaType::SingularJson {
                nulls_stripped: false,
            },
            &["analyze", "wal"],
        )];
        let (media, explain) = negotiate(&accept, &on).unwrap();
        assert_eq!(
            media,
            Media::Singular {
                nulls_stripped: false
            }
        );
        assert_eq!(
            explain,
            Some(Explain {
                text: false,
                options: vec!["analyze".into(), "wal".into()],
                content_type: "application/vnd.pgrst.plan+json; for=\"application/vnd.pgrst.object+json\"; \
                               options=analyze|wal; charset=utf-8"
                    .into(),
            })
        );
        let text = explain_text(&[plan(true, MediaType::Json, &[])], &on);
        assert_eq!(
            text,
            "application/vnd.pgrst.plan+text; for=\"application/json\"; charset=utf-8"
        );
        // A `for=` media the resource cannot produce makes the plan unacceptable too.
        let xml = [plan(true, MediaType::TextXml, &[])];
        assert_eq!(negotiate_read(&xml, &on).unwrap_err().code, "PGRST107");
        // An earlier producible entry wins over a plan.
        assert_eq!(
            negotiate(&[MediaType::Csv, plan(true, MediaType::Json, &[])], &on),
            Ok((Media::Csv, None))
        );
    }

    fn explain_text(accept: &[MediaType], settings: &Settings) -> String {
        explain(accept, settings)
            .map(|e| e.content_type)
            .unwrap_or_default()
    }
}
