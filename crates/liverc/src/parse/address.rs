//! Splitting a dashboard's postal-address lines into street, city, state,
//! postal code and country.
//!
//! LiveRC prints `street`, then `City, ST ZIP` (`City ZIP` when the track
//! has no state: "Narrabundah 02604"), then the country, one per line, and
//! any line may be missing. Tracks also type their own formats: UK postcodes
//! after the town or on their own line with county lines above, Canadian
//! `City, ON M5V 2T6`, Australian `Suburb ACT 2604`, European `10115 Berlin`,
//! two-group codes after the town (`Malmö 211 20`).
//!
//! The split works from the bottom: first the country line (matched against
//! the country table, and cross-checked with the map's ISO code when there is
//! one), then a line holding only a postal code, then the locality line
//! (city, state, postal code); what is left above is the street.
//!
//! Whether the bottom line is a locality at all is ambiguous when the page
//! prints a lone line ("Kyeema Reserve": a street, or a suburb?). The Track
//! Map iframe's query settles it: LiveRC builds it from the same fields,
//! positionally (`street,city,state+zip,CC`; `Kyeema Reserve,,+,AU` has no
//! city), see [`MapQuery`]. Without a usable map query the line's shape
//! decides (a house number, a "Lot"/"Unit" prefix, a postal code).

use super::country::{CountryInfo, country_from_alpha2, country_from_name};
use super::text::{clean, collapse_ws};

/// A postal address split into parts; every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostalAddress {
    /// Street lines, joined with ", ".
    pub street: Option<String>,
    /// City, town or suburb.
    pub city: Option<String>,
    /// State, province, territory or county.
    pub state: Option<String>,
    /// Postal code as printed.
    pub postal_code: Option<String>,
    /// Common English country name.
    pub country: Option<String>,
    /// ISO 3166-1 alpha-2 code.
    pub country_code: Option<String>,
}

/// The Track Map iframe's `q=` value (already percent- and plus-decoded),
/// read positionally.
///
/// LiveRC writes `street,city,state+zip,CC` (`5320 US 301,Lucama,NC+27851,US`,
/// `Kyeema Reserve,,+,AU`): empty parts are fields the track left blank. A
/// street may itself hold commas (`Lot 88, Wattle Road,…`), so the parts are
/// taken from the right. A query with fewer than four parts, or whose last
/// part is neither empty nor two letters, is not positional: only its
/// trailing ISO code (if any) is used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MapQuery {
    /// Everything before the city part, whitespace collapsed.
    pub street: Option<String>,
    /// The city part.
    pub city: Option<String>,
    /// The `state zip` part ("NC 27851", "211 20", "ACT 2604").
    pub region: Option<String>,
    /// The trailing ISO alpha-2 code, upper case, when the last part is two
    /// ASCII letters.
    pub country_code: Option<String>,
    /// Whether the query has the positional shape, so that an empty part
    /// really means "no such field".
    pub positional: bool,
}

impl MapQuery {
    /// Reads a decoded map query; never fails (an unusable query has no
    /// parts and is not [`positional`](MapQuery::positional)).
    pub fn parse(query: &str) -> MapQuery {
        let parts: Vec<&str> = query.split(',').collect();
        let last = parts.last().map_or("", |part| part.trim());
        let country_code = (last.len() == 2 && last.bytes().all(|b| b.is_ascii_alphabetic()))
            .then(|| last.to_ascii_uppercase());
        let positional = parts.len() >= 4 && (last.is_empty() || country_code.is_some());
        if !positional {
            return MapQuery {
                country_code,
                ..MapQuery::default()
            };
        }
        let n = parts.len();
        MapQuery {
            street: clean(&parts[..n - 3].join(",")),
            city: clean(parts[n - 3]),
            region: clean(parts[n - 2]),
            country_code,
            positional,
        }
    }

    /// Whether the query says which address fields exist: positional, with
    /// at least one of street, city and region filled in.
    pub fn is_usable(&self) -> bool {
        self.positional && (self.street.is_some() || self.city.is_some() || self.region.is_some())
    }

    /// `Some(true)` when the address has a locality (city, state or postal
    /// code), `Some(false)` when it has none, `None` when the query cannot
    /// tell.
    fn has_locality(&self) -> Option<bool> {
        self.is_usable()
            .then_some(self.city.is_some() || self.region.is_some())
    }
}

/// Countries that print the postal code before the city ("10115 Berlin"),
/// with the shapes of their codes: `9` a digit, `A` a capital letter, a
/// space a word break. A code may carry a one- or two-letter country prefix
/// (`D-10115`, `L-1234`).
const POSTAL_FIRST_COUNTRIES: &[(&str, &[&str])] = &[
    ("AT", &["9999"]),
    ("BE", &["9999"]),
    ("CH", &["9999"]),
    ("CZ", &["999 99", "99999"]),
    ("DE", &["99999"]),
    ("DK", &["9999"]),
    ("ES", &["99999"]),
    ("FI", &["99999"]),
    ("FR", &["99999"]),
    ("GR", &["999 99", "99999"]),
    ("HR", &["99999"]),
    ("HU", &["9999"]),
    ("IS", &["999"]),
    ("IT", &["99999"]),
    ("LI", &["9999"]),
    ("LU", &["9999"]),
    ("NL", &["9999 AA", "9999AA"]),
    ("NO", &["9999"]),
    ("PL", &["99-999"]),
    ("PT", &["9999-999", "9999"]),
    ("SE", &["999 99", "99999"]),
    ("SI", &["9999"]),
    ("SK", &["999 99", "99999"]),
];

/// Countries whose addresses may carry a county line between town and postcode.
const COUNTY_COUNTRIES: &[&str] = &["GB", "IE"];

/// Words that open a street line rather than a locality ("Lot 88, Wattle
/// Road", "Unit 4, Riverside Industrial Estate").
const STREET_DESIGNATORS: &[&str] = &[
    "lot",
    "unit",
    "suite",
    "ste",
    "shop",
    "building",
    "bldg",
    "apt",
    "factory",
    "warehouse",
    "shed",
    "po",
    "p.o",
    "box",
];

/// The postal-code shapes of `country`, when it prints the code first.
fn postal_shapes(country: Option<&str>) -> Option<&'static [&'static str]> {
    let country = country?;
    POSTAL_FIRST_COUNTRIES
        .iter()
        .find(|(code, _)| *code == country)
        .map(|(_, shapes)| *shapes)
}

/// Splits address `lines` (top to bottom, without the track name and the
/// contact lines).
///
/// `map` is the Track Map query, if the page has one. Its ISO code is the
/// fallback country, and a line naming a different country is not taken as
/// the country line (it is more likely a US state such as "Georgia"). When
/// the query is [usable](MapQuery::is_usable) it decides whether the bottom
/// line is a locality or a street line.
pub fn split_address(lines: &[String], map: Option<&MapQuery>) -> PostalAddress {
    let mut lines: Vec<String> = lines.iter().filter_map(|line| clean(line)).collect();
    let hint = map
        .and_then(|m| m.country_code.as_deref())
        .and_then(country_from_alpha2);
    let has_locality = map.and_then(MapQuery::has_locality);

    let country = take_country_line(&mut lines, hint.as_ref()).or(hint);
    let code = country.as_ref().map(|c| c.alpha2);

    let mut postal_code = None;
    let mut city = None;
    let mut state = None;
    // The map says the address has no city, state or postal code: every line
    // left is a street line.
    if has_locality != Some(false) {
        if let Some(last) = lines.last()
            && let Some(postal) = whole_line_postal_code(last, code)
        {
            postal_code = Some(postal);
            lines.pop();
        }

        if let Some(line) = lines.pop() {
            let lone_street = lines.is_empty()
                && postal_code.is_none()
                && map.is_some_and(|m| m.is_usable() && is_map_street(&line, m));
            let locality = if lone_street {
                None
            } else {
                // The map names the city and the line holds it: a locality
                // even if it opens with digits ("29 Palms").
                let known_city = has_locality == Some(true)
                    && map
                        .and_then(|m| m.city.as_deref())
                        .is_some_and(|city| contains_ignore_case(&line, city));
                parse_locality(&line, code, known_city)
            };
            match locality {
                Some(locality) => {
                    lines.extend(locality.extra_street);
                    city = locality.city;
                    state = locality.state;
                    if locality.postal_code.is_some() {
                        postal_code = locality.postal_code;
                    }
                }
                // The last line is a street line: no locality printed.
                None => lines.push(line),
            }
        }
    }

    // "12 High St / Reading / Berkshire / RG1 1AA": town above the county.
    if state.is_none()
        && city.is_some()
        && code.is_some_and(|c| COUNTY_COUNTRIES.contains(&c))
        && lines.len() >= 2
        && lines
            .last()
            .is_some_and(|line| !line.chars().any(|c| c.is_ascii_digit()))
    {
        state = city.take();
        city = lines.pop();
    }

    PostalAddress {
        street: clean(&lines.join(", ")),
        city,
        state,
        postal_code,
        country: country.as_ref().map(|c| c.name.clone()),
        country_code: code.map(str::to_owned),
    }
}

/// Whether a lone `line` is the map's street rather than its locality: it
/// reads as the map's street (and not as its city).
fn is_map_street(line: &str, map: &MapQuery) -> bool {
    let Some(street) = map.street.as_deref() else {
        return false;
    };
    let is_city = map
        .city
        .as_deref()
        .is_some_and(|city| same_text(line, city));
    same_text(line, street) && !is_city
}

/// Equal ignoring case and whitespace.
fn same_text(a: &str, b: &str) -> bool {
    collapse_ws(a).to_lowercase() == collapse_ws(b).to_lowercase()
}

/// Whether `haystack` holds `needle`, ignoring case and whitespace runs.
fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    let needle = collapse_ws(needle).to_lowercase();
    !needle.is_empty() && collapse_ws(haystack).to_lowercase().contains(&needle)
}

/// Removes and returns the bottom-most line that names a country
/// (consistent with `hint` when there is one).
fn take_country_line(lines: &mut Vec<String>, hint: Option<&CountryInfo>) -> Option<CountryInfo> {
    let (index, country) = lines.iter().enumerate().rev().find_map(|(index, line)| {
        let country = country_from_name(line)?;
        hint.is_none_or(|h| h.alpha2 == country.alpha2)
            .then_some((index, country))
    })?;
    lines.remove(index);
    Some(country)
}

/// City, state and postal code read from one line.
#[derive(Debug, Default)]
struct Locality {
    city: Option<String>,
    state: Option<String>,
    postal_code: Option<String>,
    /// Parts before the city on the same line ("12 Main St, Springfield, IL").
    extra_street: Vec<String>,
}

/// Reads `City, ST ZIP`, `City ZIP`, `City ST ZIP`, `City`, `ZIP City`
/// (postal-first countries). `None` when the line is a street line: it
/// starts with a house number (where the number comes first) or a "Lot" /
/// "Unit" designator, or ends with a house number in a postal-first country.
/// `known_city` (the map names a city the line holds) skips those street
/// tests.
fn parse_locality(line: &str, country: Option<&str>, known_city: bool) -> Option<Locality> {
    let shapes = postal_shapes(country);
    if let Some((left, right)) = line.rsplit_once(',') {
        let mut parts: Vec<String> = left.split(',').filter_map(clean).collect();
        let right_words: Vec<&str> = right.split_whitespace().collect();
        // "Hauptstraße 5, 10115 Berlin": street, then postal code and city.
        if let Some(shapes) = shapes
            && let Some((postal_code, city)) = take_leading_postal(&right_words, shapes)
            && !city.is_empty()
        {
            return Some(Locality {
                city: clean(&city.join(" ")),
                postal_code: Some(postal_code),
                extra_street: parts,
                ..Locality::default()
            });
        }
        let (rest, postal_code) = take_trailing_postal(&right_words, country);
        let rest = clean(&rest.join(" "));
        if postal_code.is_none()
            && !known_city
            && let [only] = parts.as_slice()
            && starts_with_street_designator(only)
        {
            // "Lot 88, Wattle Road": one street line with a comma.
            return None;
        }
        let (city, state) = if parts.is_empty() {
            // ", NC 27851": nothing before the comma.
            (None, rest)
        } else if postal_code.is_none() && rest.as_deref().is_some_and(|r| !is_state_code(r)) {
            // "Springfield, Illinois" is city, state; "12 Kyeema Street,
            // Narrabundah" (a house number first) is street, city.
            if let [only] = parts.as_slice()
                && starts_with_house_number(only)
            {
                (rest, None)
            } else {
                (parts.pop(), rest)
            }
        } else {
            (parts.pop(), rest)
        };
        return Some(Locality {
            city,
            state,
            postal_code,
            extra_street: parts,
        });
    }

    let words: Vec<&str> = line.split_whitespace().collect();
    if let Some(shapes) = shapes
        && let Some((postal_code, rest)) = take_leading_postal(&words, shapes)
    {
        return Some(Locality {
            city: clean(&rest.join(" ")),
            postal_code: Some(postal_code),
            ..Locality::default()
        });
    }
    if !known_city && (starts_with_house_number(line) || starts_with_street_designator(line)) {
        return None;
    }
    let (mut rest, postal_code) = take_trailing_postal(&words, country);
    if !known_city && postal_code.is_none() && shapes.is_some() && ends_with_house_number(&words) {
        // "Strömgatan 12", "Hauptstraße 5": number after the street name.
        return None;
    }
    let mut state = None;
    if rest.len() >= 2
        && let Some(last) = rest.last()
        && is_state_code(last)
    {
        state = Some((*last).to_owned());
        rest.pop();
    }
    Some(Locality {
        city: clean(&rest.join(" ")),
        state,
        postal_code,
        extra_street: Vec::new(),
    })
}

/// A house number opens the line: digits, then a space and more text.
fn starts_with_house_number(line: &str) -> bool {
    let mut words = line.split_whitespace();
    let first = words.next().unwrap_or_default();
    first.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && first.len() <= 6
        && words.next().is_some()
}

/// A house number closes the line, after at least one word: one to four
/// digits, optionally one letter ("12", "5b", "170A").
fn ends_with_house_number(words: &[&str]) -> bool {
    let [_, .., last] = words else {
        return false;
    };
    let digits = last.bytes().take_while(u8::is_ascii_digit).count();
    let tail = &last.as_bytes()[digits..];
    (1..=4).contains(&digits) && (tail.is_empty() || matches!(tail, [b] if b.is_ascii_alphabetic()))
}

/// The line opens with "Lot", "Unit", "Suite", … followed by a number-like word.
fn starts_with_street_designator(line: &str) -> bool {
    let mut words = line.split_whitespace();
    let first = words.next().unwrap_or_default().to_lowercase();
    let first = first.trim_end_matches(['.', ':']);
    STREET_DESIGNATORS.contains(&first)
        && words.next().is_some_and(|word| {
            word.bytes().any(|b| b.is_ascii_digit()) || word.eq_ignore_ascii_case("box")
        })
}

/// An abbreviation such as NC, ON, ACT, NSW: two or three ASCII capitals.
fn is_state_code(word: &str) -> bool {
    (2..=3).contains(&word.len()) && word.bytes().all(|b| b.is_ascii_uppercase())
}

/// The whole line, if it is only a postal code ("SW1A 1AA", "27851",
/// "M5V 2T6", "211 20" in Sweden).
fn whole_line_postal_code(line: &str, country: Option<&str>) -> Option<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match take_trailing_postal(&words, country) {
        (rest, Some(postal)) if rest.is_empty() => Some(postal),
        _ => None,
    }
}

/// Splits a postal code off the end of `words`.
///
/// In a postal-first country the code must have one of the country's shapes
/// ("Malmö 211 20", "Rotterdam 3011 AA", "Berlin D-10115"); anything else
/// there ("Kerkstraat 12A") is a house number, not a code. Elsewhere: a two-word UK, Canadian or Dutch
/// code, or one word holding a digit ("27851", "02604", "A2536",
/// "27851-1234").
fn take_trailing_postal<'a>(
    words: &[&'a str],
    country: Option<&str>,
) -> (Vec<&'a str>, Option<String>) {
    if let Some(shapes) = postal_shapes(country) {
        for take in [2, 1] {
            if words.len() >= take {
                let (rest, tail) = words.split_at(words.len() - take);
                if let Some(postal) = match_postal(tail, shapes) {
                    return (rest.to_vec(), Some(postal));
                }
            }
        }
        return (words.to_vec(), None);
    }
    if let [rest @ .., first, second] = words
        && is_two_word_postal(first, second)
    {
        return (rest.to_vec(), Some(format!("{first} {second}")));
    }
    if let [rest @ .., last] = words
        && is_one_word_postal(last)
    {
        return (rest.to_vec(), Some((*last).to_owned()));
    }
    (words.to_vec(), None)
}

/// Splits a postal code of one of `shapes` off the start of `words`
/// ("10115 Berlin", "1234 AB Amsterdam", "123 45 Stockholm"); a number of
/// the wrong length ("170 rue de la République") is not a code.
fn take_leading_postal<'a>(words: &[&'a str], shapes: &[&str]) -> Option<(String, Vec<&'a str>)> {
    [2, 1].into_iter().find_map(|take| {
        let head = words.get(..take)?;
        let postal = match_postal(head, shapes)?;
        Some((postal, words[take..].to_vec()))
    })
}

/// `words` joined with spaces, if they form a code of one of `shapes`
/// (optionally behind a one- or two-letter country prefix: `D-10115`).
fn match_postal(words: &[&str], shapes: &[&str]) -> Option<String> {
    let text = words.join(" ");
    let bare = match text.split_once('-') {
        Some((prefix, rest))
            if (1..=2).contains(&prefix.len())
                && prefix.bytes().all(|b| b.is_ascii_uppercase()) =>
        {
            rest
        }
        _ => text.as_str(),
    };
    shapes
        .iter()
        .any(|shape| fits_shape(bare, shape))
        .then_some(text)
}

/// Whether `text` has exactly the shape (`9` digit, `A` capital letter,
/// anything else literal).
fn fits_shape(text: &str, shape: &str) -> bool {
    text.len() == shape.len()
        && text.bytes().zip(shape.bytes()).all(|(t, s)| match s {
            b'9' => t.is_ascii_digit(),
            b'A' => t.is_ascii_uppercase(),
            other => t == other,
        })
}

/// One word of 3–10 letters, digits and hyphens, holding at least one digit.
fn is_one_word_postal(word: &str) -> bool {
    (3..=10).contains(&word.len())
        && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && word.bytes().any(|b| b.is_ascii_digit())
        && !word.starts_with('-')
        && !word.ends_with('-')
}

/// UK (`SW1A 1AA`), Canadian (`M5V 2T6`) or Dutch (`1234 AB`) two-word codes.
fn is_two_word_postal(first: &str, second: &str) -> bool {
    let uk_outward = (2..=4).contains(&first.len())
        && first.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
        && first.bytes().any(|b| b.is_ascii_digit())
        && first
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    let uk_inward = matches!(second.as_bytes(), [d, a, b]
        if d.is_ascii_digit() && a.is_ascii_uppercase() && b.is_ascii_uppercase());
    let canadian = matches!(
        (first.as_bytes(), second.as_bytes()),
        ([a, b, c], [d, e, f])
            if a.is_ascii_uppercase() && b.is_ascii_digit() && c.is_ascii_uppercase()
                && d.is_ascii_digit() && e.is_ascii_uppercase() && f.is_ascii_digit()
    );
    let dutch = fits_shape(&format!("{first} {second}"), "9999 AA");
    (uk_outward && uk_inward) || canadian || dutch
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `map` is a decoded map query; a bare ISO code is a non-positional one.
    fn split(lines: &[&str], map: Option<&str>) -> PostalAddress {
        let lines: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
        let map = map.map(MapQuery::parse);
        split_address(&lines, map.as_ref())
    }

    fn s(value: &str) -> Option<String> {
        Some(value.to_owned())
    }

    #[test]
    fn united_states() {
        let a = split(
            &["5320 US 301", "Lucama, NC 27851", "United States"],
            Some("US"),
        );
        assert_eq!(a.street, s("5320 US 301"));
        assert_eq!(a.city, s("Lucama"));
        assert_eq!(a.state, s("NC"));
        assert_eq!(a.postal_code, s("27851"));
        assert_eq!(a.country, s("United States"));
        assert_eq!(a.country_code, s("US"));

        let a = split(
            &["1 Main St", "Suite 5", "Springfield, IL 62701-1234", "USA"],
            None,
        );
        assert_eq!(a.street, s("1 Main St, Suite 5"));
        assert_eq!(a.city, s("Springfield"));
        assert_eq!(a.state, s("IL"));
        assert_eq!(a.postal_code, s("62701-1234"));
        assert_eq!(a.country_code, s("US"));
    }

    #[test]
    fn australia() {
        let a = split(
            &["Kyeema Street", "Narrabundah 02604", "Australia"],
            Some("AU"),
        );
        assert_eq!(a.street, s("Kyeema Street"));
        assert_eq!(a.city, s("Narrabundah"));
        assert_eq!(a.state, None);
        assert_eq!(a.postal_code, s("02604"));
        assert_eq!(a.country, s("Australia"));

        let a = split(
            &["Kyeema Street", "Narrabundah ACT 2604", "Australia"],
            None,
        );
        assert_eq!(a.city, s("Narrabundah"));
        assert_eq!(a.state, s("ACT"));
        assert_eq!(a.postal_code, s("2604"));

        let a = split(
            &["Hanging Rock Complex", "Batemans Bay A2536", "Australia"],
            Some("AU"),
        );
        assert_eq!(a.street, s("Hanging Rock Complex"));
        assert_eq!(a.city, s("Batemans Bay"));
        assert_eq!(a.postal_code, s("A2536"));

        let a = split(
            &["Wakehurst Pkwy", "Frenchs Forest, NSW 2086", "Australia"],
            None,
        );
        assert_eq!(a.city, s("Frenchs Forest"));
        assert_eq!(a.state, s("NSW"));
        assert_eq!(a.postal_code, s("2086"));
    }

    #[test]
    fn united_kingdom() {
        let a = split(&["10 Downing Street", "London SW1A 2AA", "UK"], None);
        assert_eq!(a.street, s("10 Downing Street"));
        assert_eq!(a.city, s("London"));
        assert_eq!(a.postal_code, s("SW1A 2AA"));
        assert_eq!(a.country, s("United Kingdom"));
        assert_eq!(a.country_code, s("GB"));

        let a = split(
            &["10 Downing Street", "London", "SW1A 2AA", "England"],
            None,
        );
        assert_eq!(a.street, s("10 Downing Street"));
        assert_eq!(a.city, s("London"));
        assert_eq!(a.state, None);
        assert_eq!(a.postal_code, s("SW1A 2AA"));
        assert_eq!(a.country_code, s("GB"));

        let a = split(
            &[
                "Unit 4",
                "12 High Street",
                "Reading",
                "Berkshire",
                "RG1 1AA",
                "United Kingdom",
            ],
            None,
        );
        assert_eq!(a.street, s("Unit 4, 12 High Street"));
        assert_eq!(a.city, s("Reading"));
        assert_eq!(a.state, s("Berkshire"));
        assert_eq!(a.postal_code, s("RG1 1AA"));

        let a = split(&["Racing Lane", "Cardiff CF10 1AA", "Wales"], None);
        assert_eq!(a.city, s("Cardiff"));
        assert_eq!(a.postal_code, s("CF10 1AA"));
        assert_eq!(a.country, s("United Kingdom"));
    }

    #[test]
    fn canada() {
        let a = split(&["290 Bremner Blvd", "Toronto, ON M5V 2T6", "Canada"], None);
        assert_eq!(a.street, s("290 Bremner Blvd"));
        assert_eq!(a.city, s("Toronto"));
        assert_eq!(a.state, s("ON"));
        assert_eq!(a.postal_code, s("M5V 2T6"));
        assert_eq!(a.country_code, s("CA"));

        let a = split(&["Toronto ON M5V 2T6", "Canada"], None);
        assert_eq!(a.street, None);
        assert_eq!(a.city, s("Toronto"));
        assert_eq!(a.state, s("ON"));
        assert_eq!(a.postal_code, s("M5V 2T6"));
    }

    #[test]
    fn postal_first_countries() {
        let a = split(&["Hauptstraße 5", "10115 Berlin", "Germany"], None);
        assert_eq!(a.street, s("Hauptstraße 5"));
        assert_eq!(a.city, s("Berlin"));
        assert_eq!(a.postal_code, s("10115"));
        assert_eq!(a.country_code, s("DE"));

        let a = split(&["Hauptstraße 5, 10115 Berlin", "Deutschland"], None);
        assert_eq!(a.street, s("Hauptstraße 5"));
        assert_eq!(a.city, s("Berlin"));
        assert_eq!(a.postal_code, s("10115"));

        let a = split(&["Baanweg 1", "1234 AB Amsterdam", "Netherlands"], None);
        assert_eq!(a.city, s("Amsterdam"));
        assert_eq!(a.postal_code, s("1234 AB"));
    }

    #[test]
    fn missing_lines() {
        let a = split(&["Springfield", "United States"], None);
        assert_eq!(a.street, None);
        assert_eq!(a.city, s("Springfield"));
        assert_eq!(a.country, s("United States"));

        let a = split(&["5320 US 301", "United States"], None);
        assert_eq!(a.street, s("5320 US 301"));
        assert_eq!(a.city, None);

        let a = split(&["Lucama, NC 27851"], None);
        assert_eq!(
            (a.city, a.state, a.postal_code),
            (s("Lucama"), s("NC"), s("27851"))
        );
        assert_eq!(a.country, None);

        let a = split(&["Australia"], None);
        assert_eq!(a.country_code, s("AU"));
        assert_eq!((a.street, a.city), (None, None));

        assert_eq!(split(&[], None), PostalAddress::default());
        assert_eq!(split(&["", "  "], None), PostalAddress::default());
    }

    #[test]
    fn map_code_is_the_fallback_country() {
        let a = split(&["Kyeema Street", "Narrabundah 02604"], Some("AU"));
        assert_eq!(a.city, s("Narrabundah"));
        assert_eq!(a.country, s("Australia"));
        assert_eq!(a.country_code, s("AU"));
        // Not an ISO code: ignored.
        assert_eq!(split(&["Narrabundah 02604"], Some("XX")).country, None);
    }

    #[test]
    fn a_state_named_like_a_country_is_not_the_country() {
        let a = split(&["1 Peachtree St", "Atlanta", "Georgia"], Some("US"));
        assert_eq!(a.country_code, s("US"));
        assert_eq!(a.country, s("United States"));
        // Without the map's code the line is taken at its word.
        assert_eq!(split(&["Tbilisi", "Georgia"], None).country_code, s("GE"));
    }

    #[test]
    fn one_line_street_and_city() {
        let a = split(&["12 Main St, Springfield, IL 62701", "USA"], None);
        assert_eq!(a.street, s("12 Main St"));
        assert_eq!(a.city, s("Springfield"));
        assert_eq!(a.state, s("IL"));
        assert_eq!(a.postal_code, s("62701"));

        let a = split(&["12 Kyeema Street, Narrabundah", "Australia"], None);
        assert_eq!(a.street, s("12 Kyeema Street"));
        assert_eq!(a.city, s("Narrabundah"));
        assert_eq!(a.state, None);

        let a = split(&["Springfield, Illinois", "USA"], None);
        assert_eq!(a.city, s("Springfield"));
        assert_eq!(a.state, s("Illinois"));
    }

    #[test]
    fn map_queries_are_read_from_the_right() {
        let q = MapQuery::parse("5320 US 301,Lucama,NC 27851,US");
        assert!(q.positional && q.is_usable());
        assert_eq!(q.street, s("5320 US 301"));
        assert_eq!(q.city, s("Lucama"));
        assert_eq!(q.region, s("NC 27851"));
        assert_eq!(q.country_code, s("US"));

        let q = MapQuery::parse("Lot 88, Wattle Road,, ,au");
        assert_eq!(q.street, s("Lot 88, Wattle Road"));
        assert_eq!((&q.city, &q.region), (&None, &None));
        assert_eq!(q.country_code, s("AU"));
        assert_eq!(q.has_locality(), Some(false));

        // No country code printed: still positional.
        let q = MapQuery::parse(",Narrabundah, 02604,");
        assert!(q.positional);
        assert_eq!(q.country_code, None);
        assert_eq!(q.has_locality(), Some(true));

        // Free text or too few parts: only a trailing code is used.
        for text in ["Lucama, NC", "Somewhere in Texas", "a,b,c,Texas", ""] {
            let q = MapQuery::parse(text);
            assert!(!q.positional && !q.is_usable(), "{text}");
            assert_eq!(q.has_locality(), None);
        }
        assert_eq!(MapQuery::parse("Narrabundah, au").country_code, s("AU"));
        // Every part empty: positional but says nothing.
        let q = MapQuery::parse(",, ,AU");
        assert!(q.positional && !q.is_usable());
    }

    #[test]
    fn two_group_postcodes_after_the_town() {
        let a = split(&["Storgatan 12", "Malmö 211 20", "Sweden"], None);
        assert_eq!(a.street, s("Storgatan 12"));
        assert_eq!(a.city, s("Malmö"));
        assert_eq!(a.postal_code, s("211 20"));
        assert_eq!(a.country_code, s("SE"));

        // The country only from the map's code.
        let a = split(
            &["Göteborg 411 01"],
            Some("Kungsgatan 3,Göteborg, 411 01,SE"),
        );
        assert_eq!(a.city, s("Göteborg"));
        assert_eq!(a.postal_code, s("411 01"));
        assert_eq!(a.country, s("Sweden"));

        let a = split(&["Praha 110 00", "Czech Republic"], None);
        assert_eq!((a.city, a.postal_code), (s("Praha"), s("110 00")));
        let a = split(&["Bratislava 811 01", "Slovakia"], None);
        assert_eq!((a.city, a.postal_code), (s("Bratislava"), s("811 01")));
        let a = split(&["Athens 105 57", "Greece"], None);
        assert_eq!((a.city, a.postal_code), (s("Athens"), s("105 57")));

        // Printed first, as the countries themselves write them.
        let a = split(&["211 20 Malmö", "Sverige"], None);
        assert_eq!((a.city, a.postal_code), (s("Malmö"), s("211 20")));
        // On its own line.
        let a = split(&["Storgatan 12", "Malmö", "211 20", "Sweden"], None);
        assert_eq!(a.street, s("Storgatan 12"));
        assert_eq!((a.city, a.postal_code), (s("Malmö"), s("211 20")));
        // With the country prefix.
        let a = split(&["Malmö SE-211 20", "Sweden"], None);
        assert_eq!((a.city, a.postal_code), (s("Malmö"), s("SE-211 20")));
    }

    #[test]
    fn other_countries_keep_their_formats() {
        // A country without two-group codes does not take "211 20".
        let a = split(&["Springfield 211 20", "United States"], None);
        assert_eq!((a.city, a.postal_code), (s("Springfield 211 20"), None));
        let a = split(&["Rotterdam 3011 AA", "Netherlands"], Some("NL"));
        assert_eq!((a.city, a.postal_code), (s("Rotterdam"), s("3011 AA")));
        let a = split(&["Berlin 10115", "Germany"], None);
        assert_eq!((a.city, a.postal_code), (s("Berlin"), s("10115")));
        let a = split(&["Berlin D-10115", "Germany"], None);
        assert_eq!((a.city, a.postal_code), (s("Berlin"), s("D-10115")));
        let a = split(&["Leeds LS1 4AP", "United Kingdom"], Some("GB"));
        assert_eq!((a.city, a.postal_code), (s("Leeds"), s("LS1 4AP")));
        let a = split(&["Québec, QC G1R 4P5", "Canada"], Some("CA"));
        assert_eq!(
            (a.city, a.state, a.postal_code),
            (s("Québec"), s("QC"), s("G1R 4P5"))
        );
        let a = split(&["Yokohama 220-0012", "Japan"], None);
        assert_eq!((a.city, a.postal_code), (s("Yokohama"), s("220-0012")));
    }

    #[test]
    fn a_house_number_is_not_a_postal_code() {
        let a = split(&["170 rue de la République", "France"], None);
        assert_eq!(a.street, s("170 rue de la République"));
        assert_eq!((a.city, a.postal_code), (None, None));

        let a = split(
            &["170 rue de la République", "25000 Besançon", "France"],
            None,
        );
        assert_eq!(a.street, s("170 rue de la République"));
        assert_eq!((a.city, a.postal_code), (s("Besançon"), s("25000")));

        // Number after the street name, in a postal-first country.
        for line in ["Hauptstraße 5", "Strömgatan 12", "Kerkstraat 12A"] {
            let a = split(&[line, "Germany"], None);
            assert_eq!(a.street, s(line), "{line}");
            assert_eq!((a.city, a.postal_code), (None, None), "{line}");
        }
        // A four-digit code where the country uses them.
        let a = split(&["Bern 3011", "Switzerland"], None);
        assert_eq!((a.city, a.postal_code), (s("Bern"), s("3011")));
    }

    #[test]
    fn lot_and_unit_lines_are_streets() {
        let a = split(&["Lot 88, Wattle Road", "Australia"], None);
        assert_eq!(a.street, s("Lot 88, Wattle Road"));
        assert_eq!((a.city, a.state), (None, None));
        let a = split(&["Unit 4, Riverside Industrial Estate", "UK"], None);
        assert_eq!(a.street, s("Unit 4, Riverside Industrial Estate"));
        assert_eq!(a.city, None);
        let a = split(&["P.O. Box 12", "Australia"], None);
        assert_eq!((a.street, a.city), (s("P.O. Box 12"), None));
        // "Box Hill" is a suburb, not a PO box.
        let a = split(&["Box Hill 3128", "Australia"], None);
        assert_eq!((a.city, a.postal_code), (s("Box Hill"), s("3128")));
    }

    #[test]
    fn the_map_query_decides_a_lone_line() {
        let cases = [
            // (line, map query, street, city)
            (
                "Kyeema Reserve",
                "Kyeema Reserve,, ,AU",
                Some("Kyeema Reserve"),
                None,
            ),
            (
                "Jacaranda Street",
                "Jacaranda Street,, ,AU",
                Some("Jacaranda Street"),
                None,
            ),
            (
                "Lot 88, Wattle Road",
                "Lot 88, Wattle Road,, ,AU",
                Some("Lot 88, Wattle Road"),
                None,
            ),
            ("Strömgatan", "Strömgatan,, ,SE", Some("Strömgatan"), None),
            (
                "170 rue de la République",
                "170 rue de la République,, ,FR",
                Some("170 rue de la République"),
                None,
            ),
            (
                "Narrabundah",
                ",Narrabundah, ,AU",
                None,
                Some("Narrabundah"),
            ),
            ("Strömstad", ",Strömstad, ,SE", None, Some("Strömstad")),
            // A city that opens with digits, named by the map.
            (
                "29 Palms, CA 92277",
                ",29 Palms,CA 92277,US",
                None,
                Some("29 Palms"),
            ),
        ];
        for (line, query, street, city) in cases {
            let a = split(&[line], Some(query));
            assert_eq!(a.street.as_deref(), street, "{line}");
            assert_eq!(a.city.as_deref(), city, "{line}");
            assert_eq!(a.postal_code.is_some(), line.contains("92277"), "{line}");
        }
        // Without the map the heuristic reads "Kyeema Reserve" as a suburb.
        assert_eq!(
            split(&["Kyeema Reserve", "Australia"], None).city,
            s("Kyeema Reserve")
        );
        // A lone line that equals the map's street although the map has a city.
        let a = split(
            &["Kyeema Street", "Australia"],
            Some("Kyeema Street,Narrabundah, 02604,AU"),
        );
        assert_eq!((a.street, a.city), (s("Kyeema Street"), None));
        // Full addresses are split as before.
        let a = split(
            &["Kyeema Street", "Narrabundah 02604", "Australia"],
            Some("Kyeema Street,Narrabundah, 02604,AU"),
        );
        assert_eq!(a.street, s("Kyeema Street"));
        assert_eq!((a.city, a.postal_code), (s("Narrabundah"), s("02604")));
    }

    #[test]
    fn odd_punctuation_does_not_panic() {
        for line in [
            ",",
            ",,,",
            ", NC 27851",
            "Lucama,",
            "\u{e9}, \u{e9}",
            "- -",
            "1",
        ] {
            let _ = split(&[line, "United States"], Some("US"));
        }
        assert_eq!(split(&[", NC 27851"], None).state, s("NC"));
    }
}
