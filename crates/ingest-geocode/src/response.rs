//! Reading Nominatim's `format=jsonv2` search answers: the first place's
//! `lat`/`lon` (strings in Nominatim's output; numbers are tolerated), range
//! checked. Pure functions over bytes: any input gives a value or an error
//! message, never a panic.

use ingest_core::Coordinates;
use serde::Deserialize;
use serde_json::Value;

/// One search result; every other field is ignored.
#[derive(Debug, Deserialize)]
struct Place {
    lat: Degrees,
    lon: Degrees,
}

/// A coordinate as Nominatim writes it (a decimal string) or as a number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Degrees {
    Text(String),
    Number(f64),
}

impl Degrees {
    fn value(&self) -> Option<f64> {
        match self {
            Self::Text(text) => text.trim().parse::<f64>().ok(),
            Self::Number(n) => Some(*n),
        }
    }
}

/// Parse a search answer: `Ok(None)` for an empty list (no such place).
pub(crate) fn parse_search(body: &[u8]) -> Result<Option<Coordinates>, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("malformed JSON from Nominatim: {e}"))?;
    if let Some(message) = error_message(&value) {
        return Err(format!("Nominatim reported an error: {message}"));
    }
    let Value::Array(places) = value else {
        return Err(format!(
            "unexpected answer from Nominatim: a JSON {} where a list was expected",
            kind(&value)
        ));
    };
    let Some(first) = places.into_iter().next() else {
        return Ok(None);
    };
    let place: Place = serde_json::from_value(first)
        .map_err(|e| format!("unexpected place in the Nominatim answer: {e}"))?;
    let (Some(latitude), Some(longitude)) = (place.lat.value(), place.lon.value()) else {
        return Err(format!(
            "unreadable coordinates from Nominatim: lat {:?}, lon {:?}",
            place.lat, place.lon
        ));
    };
    check_range(latitude, longitude)?;
    Ok(Some(Coordinates {
        latitude,
        longitude,
    }))
}

/// The message of a Nominatim error object (`{"error": "…"}` or
/// `{"error": {"code": 400, "message": "…"}}`), if `value` is one.
pub(crate) fn error_message(value: &Value) -> Option<String> {
    let error = value.as_object()?.get("error")?;
    Some(match error {
        Value::String(message) => message.clone(),
        Value::Object(fields) => fields
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| error.to_string(), str::to_owned),
        other => other.to_string(),
    })
}

fn check_range(latitude: f64, longitude: f64) -> Result<(), String> {
    if !latitude.is_finite() || !(-90.0..=90.0).contains(&latitude) {
        return Err(format!(
            "latitude {latitude} from Nominatim is outside -90..=90"
        ));
    }
    if !longitude.is_finite() || !(-180.0..=180.0).contains(&longitude) {
        return Err(format!(
            "longitude {longitude} from Nominatim is outside -180..=180"
        ));
    }
    Ok(())
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(body: &str) -> Option<(f64, f64)> {
        parse_search(body.as_bytes())
            .expect("parses")
            .map(|c| (c.latitude, c.longitude))
    }

    fn err(body: &[u8]) -> String {
        parse_search(body).expect_err("rejected")
    }

    #[test]
    fn reads_the_first_place() {
        let body = r#"[
            {"place_id": 1, "lat": "-35.3", "lon": "149.1", "display_name": "Canberra",
             "boundingbox": ["-35.4", "-35.2", "149.0", "149.2"], "importance": 0.7},
            {"place_id": 2, "lat": "10", "lon": "10"}
        ]"#;
        assert_eq!(ok(body), Some((-35.3, 149.1)));
    }

    #[test]
    fn tolerates_numbers_and_padding() {
        assert_eq!(
            ok(r#"[{"lat": 35.5, "lon": " -78.1 "}]"#),
            Some((35.5, -78.1))
        );
    }

    #[test]
    fn an_empty_list_is_no_place() {
        assert_eq!(ok("[]"), None);
        assert_eq!(ok(" [ ] "), None);
    }

    #[test]
    fn the_edges_of_the_globe_are_in_range() {
        assert_eq!(
            ok(r#"[{"lat": "90", "lon": "-180"}]"#),
            Some((90.0, -180.0))
        );
    }

    #[test]
    fn out_of_range_and_unreadable_coordinates_are_errors() {
        for body in [
            r#"[{"lat": "90.0001", "lon": "0"}]"#,
            r#"[{"lat": "0", "lon": "180.5"}]"#,
            r#"[{"lat": "NaN", "lon": "0"}]"#,
            r#"[{"lat": "inf", "lon": "0"}]"#,
            r#"[{"lat": "north", "lon": "0"}]"#,
            r#"[{"lat": "1"}]"#,
            r#"[{"lat": null, "lon": "0"}]"#,
            r#"["place"]"#,
        ] {
            let message = err(body.as_bytes());
            assert!(!message.is_empty(), "{body}");
        }
        assert!(err(br#"[{"lat": "-91", "lon": "0"}]"#).contains("latitude"));
    }

    #[test]
    fn malformed_json_is_an_error() {
        for body in [
            &b""[..],
            b"[",
            b"<html>busy</html>",
            b"\xff\xfe",
            b"[{\"lat\": \"1\",",
        ] {
            assert!(err(body).contains("JSON"), "{body:?}");
        }
        assert!(err(br#"{"lat": "1", "lon": "2"}"#).contains("object"));
    }

    #[test]
    fn error_objects_carry_their_message() {
        assert!(err(br#"{"error": "Unable to geocode"}"#).contains("Unable to geocode"));
        assert!(
            err(br#"{"error": {"code": 400, "message": "Parameter 'q' is empty."}}"#)
                .contains("Parameter 'q' is empty.")
        );
    }

    #[test]
    fn never_panics_on_prefixes_of_a_valid_answer() {
        let body = br#"[{"lat":"-35.3","lon":"149.1","name":"x\u00e9"}]"#;
        for end in 0..body.len() {
            let _ = parse_search(&body[..end]);
        }
    }
}
