//! `Accept` negotiation (RFC 9110 §12.5.1): the answer format a route can
//! produce that the client weighs highest, the route's default first on ties.

/// The answer formats of `/v1/gaussian_filter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// `application/x-npy` (also chosen by `application/octet-stream`).
    Npy,
    /// `image/png`.
    Png,
    /// `application/json`.
    Json,
}

impl Format {
    fn media_types(self) -> &'static [&'static str] {
        match self {
            Format::Npy => &["application/x-npy", "application/octet-stream"],
            Format::Png => &["image/png"],
            Format::Json => &["application/json"],
        }
    }

    /// The Content-Type of an answer in this format.
    pub(crate) fn content_type(self) -> &'static str {
        self.media_types()[0]
    }
}

/// Picks the format for `accept` (the header's value, if any) among
/// `offers`, listed in the route's order of preference. `None` when the
/// client accepts none of them.
pub(crate) fn negotiate(accept: Option<&str>, offers: &[Format]) -> Option<Format> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return offers.first().copied();
    };
    let ranges: Vec<(String, f32)> = accept.split(',').filter_map(parse_range).collect();
    let mut best: Option<(Format, f32)> = None;
    for &offer in offers {
        let q = offer
            .media_types()
            .iter()
            .filter_map(|media| weight(&ranges, media))
            .fold(None, |acc: Option<f32>, q| {
                Some(acc.map_or(q, |a| a.max(q)))
            });
        if let Some(q) = q
            && q > 0.0
            && best.is_none_or(|(_, b)| q > b)
        {
            best = Some((offer, q));
        }
    }
    best.map(|(format, _)| format)
}

/// `type/subtype;q=0.5` → (lower-case media range, q).
fn parse_range(text: &str) -> Option<(String, f32)> {
    let mut parts = text.split(';');
    let range = parts.next()?.trim().to_ascii_lowercase();
    if range.is_empty() {
        return None;
    }
    let mut q = 1.0;
    for param in parts {
        if let Some((name, value)) = param.split_once('=')
            && name.trim().eq_ignore_ascii_case("q")
        {
            q = value.trim().parse().unwrap_or(0.0);
        }
    }
    Some((range, q))
}

/// The q of the most specific range that matches `media`, if any does.
fn weight(ranges: &[(String, f32)], media: &str) -> Option<f32> {
    let (kind, _) = media.split_once('/')?;
    let mut found: Option<(u8, f32)> = None;
    for (range, q) in ranges {
        let specificity = if range == media {
            3
        } else if range.strip_suffix("/*") == Some(kind) {
            2
        } else if range == "*/*" || range == "*" {
            1
        } else {
            continue;
        };
        if found.is_none_or(|(s, _)| specificity > s) {
            found = Some((specificity, *q));
        }
    }
    found.map(|(_, q)| q)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Format::*;

    #[test]
    fn picks_the_default_without_a_preference() {
        assert_eq!(negotiate(None, &[Npy, Png, Json]), Some(Npy));
        assert_eq!(negotiate(Some("*/*"), &[Png, Npy, Json]), Some(Png));
        assert_eq!(negotiate(Some(""), &[Png, Npy, Json]), Some(Png));
    }

    #[test]
    fn honours_types_and_weights() {
        assert_eq!(
            negotiate(Some("application/json"), &[Npy, Png, Json]),
            Some(Json)
        );
        assert_eq!(
            negotiate(
                Some("image/png;q=0.5, application/json;q=0.9"),
                &[Npy, Png, Json]
            ),
            Some(Json)
        );
        assert_eq!(negotiate(Some("image/*"), &[Npy, Png, Json]), Some(Png));
        assert_eq!(
            negotiate(Some("application/octet-stream"), &[Png, Npy, Json]),
            Some(Npy)
        );
        assert_eq!(
            negotiate(Some("*/*;q=0.1, application/json"), &[Npy, Png, Json]),
            Some(Json)
        );
        assert_eq!(negotiate(Some("text/html"), &[Npy, Png, Json]), None);
        assert_eq!(
            negotiate(Some("application/json;q=0, */*"), &[Json, Npy]),
            Some(Npy)
        );
    }
}
