//! Validation of scraped values before they are stored. A value that breaks a
//! rule is not stored (the field is stored empty) and is reported as an
//! anomaly with the rule it broke.
//!
//! Architecture invariant: domain, and pure: no value is looked up
//! anywhere, so a rule gives the same answer on every run.

use crate::domain::report::ValidationAnomaly;
use crate::domain::track::TrackProfile;

/// Validate a parsed profile in place: invalid values are removed and
/// returned as anomalies for `slug`.
pub fn sanitize_profile(slug: &str, profile: &mut TrackProfile) -> Vec<ValidationAnomaly> {
    let mut anomalies = Vec::new();
    let mut check =
        |field: &str, value: &mut Option<String>, rule: fn(&str) -> Result<(), String>| {
            if let Some(v) = value.as_deref()
                && let Err(rule) = rule(v)
            {
                anomalies.push(ValidationAnomaly {
                    slug: slug.to_owned(),
                    field: field.to_owned(),
                    value: v.to_owned(),
                    rule,
                });
                *value = None;
            }
        };
    check("email", &mut profile.email, validate_email);
    check("website", &mut profile.website, validate_http_url);
    check("logo_url", &mut profile.logo_url, validate_http_url);
    check("facebook_url", &mut profile.facebook_url, validate_http_url);

    if let Some(phone) = profile.phone.as_deref()
        && let Err(rule) = validate_phone(phone, profile.country_code.as_deref())
    {
        anomalies.push(ValidationAnomaly {
            slug: slug.to_owned(),
            field: "phone".to_owned(),
            value: phone.to_owned(),
            rule,
        });
        profile.phone = None;
    }
    if let Some(code) = profile.country_code.as_deref()
        && !(code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()))
    {
        anomalies.push(ValidationAnomaly {
            slug: slug.to_owned(),
            field: "country_code".to_owned(),
            value: code.to_owned(),
            rule: "not an ISO 3166-1 alpha-2 code".to_owned(),
        });
        profile.country_code = None;
    }
    for (field, value) in [
        ("total_laps", &mut profile.total_laps),
        (
            "total_practice_sessions",
            &mut profile.total_practice_sessions,
        ),
        ("total_races", &mut profile.total_races),
        ("total_entries", &mut profile.total_entries),
        ("total_events", &mut profile.total_events),
    ] {
        if let Some(v) = *value
            && v < 0
        {
            anomalies.push(ValidationAnomaly {
                slug: slug.to_owned(),
                field: field.to_owned(),
                value: v.to_string(),
                rule: "a count cannot be negative".to_owned(),
            });
            *value = None;
        }
    }
    anomalies
}

/// An e-mail address with a local part and a domain that has a dot.
pub fn validate_email(value: &str) -> Result<(), String> {
    let Some((local, domain)) = value.rsplit_once('@') else {
        return Err("no @ in the address".to_owned());
    };
    if local.is_empty() {
        return Err("empty local part".to_owned());
    }
    if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
        return Err("no domain".to_owned());
    }
    if !email_address::EmailAddress::is_valid(value) {
        return Err("not a valid e-mail address".to_owned());
    }
    Ok(())
}

/// An absolute `http(s)` URL with a host.
pub fn validate_http_url(value: &str) -> Result<(), String> {
    let url = url::Url::parse(value).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("not an http(s) URL".to_owned());
    }
    match url.host_str() {
        Some(host) if host.contains('.') || host == "localhost" => Ok(()),
        _ => Err("no host name".to_owned()),
    }
}

/// A phone number valid for the track's country. Without a known country
/// only an international (`+…`) number can be judged; a national-format
/// number is then accepted as it is rather than dropped on a guess.
pub fn validate_phone(value: &str, country_code: Option<&str>) -> Result<(), String> {
    if country_code.is_none() && !value.trim_start().starts_with('+') {
        return if value.chars().filter(char::is_ascii_digit).count() >= 5 {
            Ok(())
        } else {
            Err("not a phone number".to_owned())
        };
    }
    let region = country_code.and_then(|c| c.parse::<phonenumber::country::Id>().ok());
    let number = phonenumber::parse(region, value).map_err(|_| match country_code {
        Some(cc) => format!("not a valid number for {cc}"),
        None => "not a phone number".to_owned(),
    })?;
    if phonenumber::is_valid(&number) {
        Ok(())
    } else {
        Err(match country_code {
            Some(cc) => format!("not a valid number for {cc}"),
            None => "not a valid phone number".to_owned(),
        })
    }
}

/// Latitude and longitude within range and finite.
pub fn validate_coordinates(latitude: f64, longitude: f64) -> Result<(), String> {
    if !latitude.is_finite() || !longitude.is_finite() {
        return Err("coordinates must be finite".to_owned());
    }
    if !(-90.0..=90.0).contains(&latitude) {
        return Err("latitude outside −90…90".to_owned());
    }
    if !(-180.0..=180.0).contains(&longitude) {
        return Err("longitude outside −180…180".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(validate_email("worldofrcparts@aol.com").is_ok());
        assert!(validate_email("info@cormcc.org").is_ok());
        assert_eq!(validate_email("info@mudrunners"), Err("no domain".into()));
        assert!(validate_email("no-at-sign").is_err());
        assert!(validate_email("@x.com").is_err());
    }

    #[test]
    fn urls() {
        assert!(validate_http_url("http://www.thunder-alley.com/").is_ok());
        assert!(validate_http_url("https://bayrc.com.au").is_ok());
        assert_eq!(
            validate_http_url("javascript:void(0)"),
            Err("not an http(s) URL".into())
        );
        assert!(validate_http_url("www.example.com").is_err());
        assert!(validate_http_url("http://intranet/").is_err());
    }

    #[test]
    fn phones() {
        assert!(validate_phone("+1 252-291-4088", Some("US")).is_ok());
        assert!(validate_phone("(252) 291-4088", Some("US")).is_ok());
        assert!(validate_phone("+61 403 594 396", Some("AU")).is_ok());
        assert!(validate_phone("0403 594 396", Some("AU")).is_ok());
        assert_eq!(
            validate_phone("555-RACE", Some("US")),
            Err("not a valid number for US".into())
        );
        assert!(validate_phone("+44 20 7946 0958", None).is_ok());
        assert!(validate_phone("12", None).is_err());
        assert!(validate_phone("+1 555", None).is_err());
        // Unknown country, national format: kept, not judged.
        assert!(validate_phone("(937) 580-3369", None).is_ok());
    }

    #[test]
    fn coordinates() {
        assert!(validate_coordinates(-35.3, 149.1).is_ok());
        assert!(validate_coordinates(91.0, 0.0).is_err());
        assert!(validate_coordinates(0.0, -181.0).is_err());
        assert!(validate_coordinates(f64::NAN, 0.0).is_err());
    }

    #[test]
    fn sanitize_removes_bad_values_and_reports_them() {
        let mut profile = TrackProfile {
            phone: Some("555-RACE".into()),
            email: Some("info@mudrunners".into()),
            website: Some("javascript:void(0)".into()),
            country_code: Some("US".into()),
            city: Some("Lucama".into()),
            ..TrackProfile::default()
        };
        let anomalies = sanitize_profile("speedzone", &mut profile);
        let fields: Vec<_> = anomalies.iter().map(|a| a.field.as_str()).collect();
        assert_eq!(fields, ["email", "website", "phone"]);
        assert_eq!(profile.phone, None);
        assert_eq!(profile.email, None);
        assert_eq!(profile.website, None);
        assert_eq!(profile.city.as_deref(), Some("Lucama"));
        assert_eq!(profile.country_code.as_deref(), Some("US"));
    }
}
