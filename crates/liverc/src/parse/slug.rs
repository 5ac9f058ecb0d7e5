//! Track slugs: the first DNS label of a track's host, `{slug}.liverc.com`.
//!
//! The catalogue links every track as `//{slug}.liverc.com/…` (a few as
//! absolute `http(s)://` URLs). This module turns such an href into the
//! lowercased slug and the path, and says in words why an href cannot name a
//! track: a host outside `liverc.com`, a deeper host, an invalid DNS label,
//! or one of the site's own infrastructure hosts.

use std::fmt;

use super::text::strip_prefix_ignore_case;

/// The registrable domain every track host lives under.
pub const TRACK_DOMAIN: &str = "liverc.com";

/// First labels of `liverc.com` hosts that are the site's own
/// infrastructure, never a track.
pub const INFRASTRUCTURE_LABELS: &[&str] = &[
    "live", "www", "forum", "help", "blog", "api", "cdn", "static", "mail", "admin", "support",
    "shop", "store", "news", "status", "dev", "staging", "test", "assets", "images", "media",
];

/// Whether `label` is a valid DNS label as a hostname part: 1–63 ASCII
/// letters, digits or hyphens, not starting or ending with a hyphen.
pub fn is_valid_dns_label(label: &str) -> bool {
    let bytes = label.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes.first() != Some(&b'-')
        && bytes.last() != Some(&b'-')
}

/// Whether `label` (any case) names a site-infrastructure host rather than a track.
pub fn is_infrastructure_label(label: &str) -> bool {
    INFRASTRUCTURE_LABELS
        .iter()
        .any(|known| known.eq_ignore_ascii_case(label))
}

/// The dashboard URL of a track, `https://{slug}.liverc.com/`.
pub fn track_url(slug: &str) -> String {
    format!("https://{slug}.{TRACK_DOMAIN}/")
}

/// A catalogue href that names a track host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackHref {
    /// The lowercased first label of the host.
    pub slug: String,
    /// The path (with query and fragment, if any), always starting with `/`.
    pub path: String,
}

impl TrackHref {
    /// The href made absolute on the track's own host, with `https`.
    pub fn absolute_url(&self) -> String {
        format!("https://{}.{TRACK_DOMAIN}{}", self.slug, self.path)
    }
}

/// Why an href does not name a track.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlugError {
    /// Neither protocol-relative (`//host/…`) nor `http(s)://host/…`.
    NotAbsolute,
    /// The authority carries user information or a port.
    UnexpectedAuthority(String),
    /// The host is not under `liverc.com`.
    ForeignHost(String),
    /// The host is `liverc.com` itself: no track label.
    BareDomain(String),
    /// The host has more labels than `slug.liverc.com`.
    TooManyLabels(String),
    /// The first label is not a valid DNS label.
    InvalidLabel(String),
    /// The first label is a site-infrastructure name.
    Infrastructure(String),
}

impl fmt::Display for SlugError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SlugError::NotAbsolute => {
                f.write_str("href is neither protocol-relative nor an http(s) URL")
            }
            SlugError::UnexpectedAuthority(authority) => {
                write!(f, "host {authority:?} carries user information or a port")
            }
            SlugError::ForeignHost(host) => write!(f, "host {host:?} is not under {TRACK_DOMAIN}"),
            SlugError::BareDomain(host) => write!(f, "host {host:?} has no track label"),
            SlugError::TooManyLabels(host) => {
                write!(f, "host {host:?} has more labels than slug.{TRACK_DOMAIN}")
            }
            SlugError::InvalidLabel(label) => write!(f, "{label:?} is not a valid DNS label"),
            SlugError::Infrastructure(label) => {
                write!(f, "{label:?} is a site-infrastructure host, not a track")
            }
        }
    }
}

impl std::error::Error for SlugError {}

/// Parses a catalogue href (`//Slug.liverc.com/results/`,
/// `https://slug.liverc.com/`) into the lowercased slug and the path.
pub fn parse_track_href(href: &str) -> Result<TrackHref, SlugError> {
    let href = href.trim();
    let rest = href
        .strip_prefix("//")
        .or_else(|| strip_prefix_ignore_case(href, "https://"))
        .or_else(|| strip_prefix_ignore_case(href, "http://"))
        .ok_or(SlugError::NotAbsolute)?;
    let (authority, path) = match rest.find(['/', '?', '#', '\\']) {
        Some(end) => rest.split_at(end),
        None => (rest, ""),
    };
    if authority.contains(['@', ':']) {
        return Err(SlugError::UnexpectedAuthority(authority.to_owned()));
    }
    let host = authority.to_ascii_lowercase();
    // A fully qualified name may end with the root's empty label.
    let host = host.strip_suffix('.').unwrap_or(&host);
    let label = match host.strip_suffix(TRACK_DOMAIN) {
        Some("") => return Err(SlugError::BareDomain(host.to_owned())),
        Some(prefix) => prefix
            .strip_suffix('.')
            .ok_or_else(|| SlugError::ForeignHost(host.to_owned()))?,
        None => return Err(SlugError::ForeignHost(host.to_owned())),
    };
    if label.contains('.') {
        return Err(SlugError::TooManyLabels(host.to_owned()));
    }
    if !is_valid_dns_label(label) {
        return Err(SlugError::InvalidLabel(label.to_owned()));
    }
    if is_infrastructure_label(label) {
        return Err(SlugError::Infrastructure(label.to_owned()));
    }
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    Ok(TrackHref {
        slug: label.to_owned(),
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slug(href: &str) -> Result<String, SlugError> {
        parse_track_href(href).map(|h| h.slug)
    }

    #[test]
    fn protocol_relative_and_absolute_forms() {
        assert_eq!(
            slug("//raceplacerc.liverc.com/"),
            Ok("raceplacerc".to_owned())
        );
        assert_eq!(
            slug("https://bayrc.liverc.com/results/"),
            Ok("bayrc".to_owned())
        );
        assert_eq!(slug("HTTP://Bayrc.LiveRC.com"), Ok("bayrc".to_owned()));
        assert_eq!(slug("  //a-1.liverc.com./live/ "), Ok("a-1".to_owned()));
        assert_eq!(
            slug("//417raceplace.liverc.com/"),
            Ok("417raceplace".to_owned())
        );
    }

    #[test]
    fn mixed_case_slug_is_lowercased() {
        let href = parse_track_href("//FastandFunToyandHobby.liverc.com/results/").expect("valid");
        assert_eq!(href.slug, "fastandfuntoyandhobby");
        assert_eq!(href.path, "/results/");
        assert_eq!(
            href.absolute_url(),
            "https://fastandfuntoyandhobby.liverc.com/results/"
        );
    }

    #[test]
    fn path_is_normalised_to_start_with_a_slash() {
        assert_eq!(
            parse_track_href("//x.liverc.com").map(|h| h.path),
            Ok("/".to_owned())
        );
        assert_eq!(
            parse_track_href("//x.liverc.com?a=1").map(|h| h.path),
            Ok("/?a=1".to_owned())
        );
    }

    #[test]
    fn rejects_with_reasons() {
        assert_eq!(slug("/results/"), Err(SlugError::NotAbsolute));
        assert_eq!(slug("javascript:void(0)"), Err(SlugError::NotAbsolute));
        assert_eq!(slug("ftp://x.liverc.com/"), Err(SlugError::NotAbsolute));
        assert_eq!(slug(""), Err(SlugError::NotAbsolute));
        assert!(matches!(
            slug("//evil.com/"),
            Err(SlugError::ForeignHost(_))
        ));
        assert!(matches!(
            slug("//notliverc.com/"),
            Err(SlugError::ForeignHost(_))
        ));
        assert!(matches!(
            slug("//x.liverc.com.evil.com/"),
            Err(SlugError::ForeignHost(_))
        ));
        assert!(matches!(
            slug("//liverc.com/"),
            Err(SlugError::BareDomain(_))
        ));
        assert!(matches!(
            slug("//a.b.liverc.com/"),
            Err(SlugError::TooManyLabels(_))
        ));
        assert!(matches!(
            slug("//-x.liverc.com/"),
            Err(SlugError::InvalidLabel(_))
        ));
        assert!(matches!(
            slug("//x_y.liverc.com/"),
            Err(SlugError::InvalidLabel(_))
        ));
        assert!(matches!(
            slug("//.liverc.com/"),
            Err(SlugError::InvalidLabel(_))
        ));
        assert!(matches!(
            slug("//\u{e9}t\u{e9}.liverc.com/"),
            Err(SlugError::InvalidLabel(_))
        ));
        assert!(matches!(
            slug("//user@x.liverc.com/"),
            Err(SlugError::UnexpectedAuthority(_))
        ));
        assert!(matches!(
            slug("//x.liverc.com:8080/"),
            Err(SlugError::UnexpectedAuthority(_))
        ));
        assert_eq!(
            slug("//WWW.liverc.com/"),
            Err(SlugError::Infrastructure("www".to_owned()))
        );
        assert_eq!(
            slug("//live.liverc.com/"),
            Err(SlugError::Infrastructure("live".to_owned()))
        );
    }

    #[test]
    fn every_infrastructure_label_is_rejected() {
        for label in INFRASTRUCTURE_LABELS {
            assert!(
                matches!(
                    slug(&format!("//{label}.liverc.com/")),
                    Err(SlugError::Infrastructure(_))
                ),
                "{label}"
            );
        }
    }

    #[test]
    fn dns_label_rules() {
        assert!(is_valid_dns_label("a"));
        assert!(is_valid_dns_label(&"a".repeat(63)));
        assert!(!is_valid_dns_label(&"a".repeat(64)));
        assert!(!is_valid_dns_label(""));
        assert!(!is_valid_dns_label("a-"));
        assert!(is_valid_dns_label("a--b"));
        assert!(!is_valid_dns_label("a b"));
    }

    #[test]
    fn reasons_read_well() {
        assert_eq!(
            SlugError::TooManyLabels("a.b.liverc.com".to_owned()).to_string(),
            "host \"a.b.liverc.com\" has more labels than slug.liverc.com"
        );
        assert_eq!(track_url("bayrc"), "https://bayrc.liverc.com/");
    }
}
