//! Country names ↔ ISO 3166-1 alpha-2 codes, on top of the `celes` table.
//!
//! Dashboards print the country as free text ("United States", "Australia",
//! sometimes "USA", "UK", "England"); the map iframe ends with an ISO code.
//! Names are matched case-, space- and punctuation-insensitively against the
//! table's names and aliases plus a few common short forms; the stored name
//! is the common English name ("United States", "United Kingdom"), not the
//! table's formal one ("The United States Of America").

use celes::Country;

/// A recognised country.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountryInfo {
    /// ISO 3166-1 alpha-2 code, upper case.
    pub alpha2: &'static str,
    /// Common English name.
    pub name: String,
}

/// Short forms and local names the `celes` table does not know, keyed by
/// [`name_key`] form.
const EXTRA_ALIASES: &[(&str, &str)] = &[
    ("us", "US"),
    ("usa", "US"),
    ("unitedstatesofamerica", "US"),
    ("uk", "GB"),
    ("gb", "GB"),
    ("britain", "GB"),
    ("wales", "GB"),
    ("uae", "AE"),
    ("korea", "KR"),
    ("czechrepublic", "CZ"),
    ("deutschland", "DE"),
    ("españa", "ES"),
    ("méxico", "MX"),
    ("brasil", "BR"),
    ("italia", "IT"),
    ("nederland", "NL"),
    ("schweiz", "CH"),
    ("österreich", "AT"),
    ("sverige", "SE"),
    ("norge", "NO"),
    ("danmark", "DK"),
    ("suomi", "FI"),
    ("polska", "PL"),
    ("newzealand", "NZ"),
    ("puertorico", "PR"),
    ("hongkong", "HK"),
    ("southafrica", "ZA"),
    ("vietnam", "VN"),
];

/// Common English names where the table's name is a formal one.
const COMMON_NAMES: &[(&str, &str)] = &[
    ("AX", "Åland Islands"),
    ("BN", "Brunei"),
    ("CC", "Cocos (Keeling) Islands"),
    ("CD", "Democratic Republic of the Congo"),
    ("CG", "Republic of the Congo"),
    ("CI", "Côte d'Ivoire"),
    ("CW", "Curaçao"),
    ("FK", "Falkland Islands"),
    ("FM", "Micronesia"),
    ("GB", "United Kingdom"),
    ("GW", "Guinea-Bissau"),
    ("HM", "Heard Island and McDonald Islands"),
    ("IR", "Iran"),
    ("KP", "North Korea"),
    ("KR", "South Korea"),
    ("LA", "Laos"),
    ("MD", "Moldova"),
    ("MF", "Saint Martin"),
    ("MK", "North Macedonia"),
    ("PS", "Palestine"),
    ("RE", "Réunion"),
    ("RU", "Russia"),
    ("SH", "Saint Helena"),
    ("SX", "Sint Maarten"),
    ("SY", "Syria"),
    ("TL", "Timor-Leste"),
    ("TW", "Taiwan"),
    ("TZ", "Tanzania"),
    ("US", "United States"),
    ("VA", "Vatican City"),
    ("VE", "Venezuela"),
];

/// Longest name considered: no country name is longer, and it bounds the
/// work done on arbitrary input lines.
const MAX_NAME_LEN: usize = 64;

/// The lookup key of a name: lower case, letters and digits only.
fn name_key(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The country a free-text line names ("United States", "USA", "U.K.",
/// "England", "Australia", "The Netherlands"), or `None`. ISO codes other
/// than the common "US"/"USA"/"UK"/"GB" are not accepted here: a bare
/// two-letter line on an address is more likely a state.
pub fn country_from_name(text: &str) -> Option<CountryInfo> {
    if text.len() > MAX_NAME_LEN {
        return None;
    }
    let key = name_key(text);
    if key.is_empty() {
        return None;
    }
    if let Some((_, code)) = EXTRA_ALIASES.iter().find(|(alias, _)| *alias == key) {
        return country_from_alpha2(code);
    }
    let stripped = key.strip_prefix("the").filter(|rest| !rest.is_empty());
    let found = Country::from_name(&key)
        .or_else(|_| Country::from_alias(&key))
        .or_else(|_| Country::from_name(format!("the{key}")))
        .ok()
        .or_else(|| {
            let rest = stripped?;
            Country::from_name(rest)
                .or_else(|_| Country::from_alias(rest))
                .ok()
        })?;
    Some(info(&found))
}

/// The country with ISO 3166-1 alpha-2 `code` (any case; "UK" is taken as
/// "GB"), or `None`.
pub fn country_from_alpha2(code: &str) -> Option<CountryInfo> {
    let code = code.trim();
    if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let code = if code.eq_ignore_ascii_case("uk") {
        "GB"
    } else {
        code
    };
    Country::from_alpha2(code)
        .ok()
        .map(|country| info(&country))
}

/// Common English name of the country with alpha-2 `code`, if known.
pub fn common_name(code: &str) -> Option<String> {
    country_from_alpha2(code).map(|country| country.name)
}

fn info(country: &Country) -> CountryInfo {
    let name = COMMON_NAMES
        .iter()
        .find(|(code, _)| *code == country.alpha2)
        .map_or_else(
            || tidy_long_name(country.long_name),
            |(_, name)| (*name).to_owned(),
        );
    CountryInfo {
        alpha2: country.alpha2,
        name,
    }
}

/// "The Bahamas" → "Bahamas", "Bosnia And Herzegovina" → "Bosnia and
/// Herzegovina", "Isle Of Man" → "Isle of Man".
fn tidy_long_name(long_name: &str) -> String {
    let without_article = long_name.strip_prefix("The ").unwrap_or(long_name);
    without_article
        .split(' ')
        .enumerate()
        .map(|(index, word)| match word {
            "And" | "Of" | "The" | "Da" if index > 0 => word.to_lowercase(),
            _ => word.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(name: &str) -> Option<&'static str> {
        country_from_name(name).map(|c| c.alpha2)
    }

    #[test]
    fn names_and_aliases() {
        for (text, expected) in [
            ("United States", "US"),
            ("USA", "US"),
            ("U.S.A.", "US"),
            ("united states of america", "US"),
            ("US", "US"),
            ("Australia", "AU"),
            ("UK", "GB"),
            ("United Kingdom", "GB"),
            ("England", "GB"),
            ("Scotland", "GB"),
            ("Wales", "GB"),
            ("Northern Ireland", "GB"),
            ("Great Britain", "GB"),
            ("Canada", "CA"),
            ("New Zealand", "NZ"),
            ("The Netherlands", "NL"),
            ("Netherlands", "NL"),
            ("Philippines", "PH"),
            ("Puerto Rico", "PR"),
            ("Deutschland", "DE"),
            ("MÉXICO", "MX"),
            ("Samoa", "WS"),
            ("  south   korea ", "KR"),
        ] {
            assert_eq!(code(text), Some(expected), "{text:?}");
        }
    }

    #[test]
    fn non_countries() {
        for text in [
            "",
            "NC",
            "AU",
            "Lucama, NC 27851",
            "5320 US 301",
            "N/A",
            "the",
            "Narrabundah",
        ] {
            assert_eq!(code(text), None, "{text:?}");
        }
        assert_eq!(code(&"a".repeat(1000)), None);
    }

    #[test]
    fn common_english_names() {
        assert_eq!(common_name("US").as_deref(), Some("United States"));
        assert_eq!(common_name("us").as_deref(), Some("United States"));
        assert_eq!(common_name("GB").as_deref(), Some("United Kingdom"));
        assert_eq!(common_name("UK").as_deref(), Some("United Kingdom"));
        assert_eq!(common_name("AU").as_deref(), Some("Australia"));
        assert_eq!(common_name("NL").as_deref(), Some("Netherlands"));
        assert_eq!(common_name("BA").as_deref(), Some("Bosnia and Herzegovina"));
        assert_eq!(common_name("IM").as_deref(), Some("Isle of Man"));
        assert_eq!(common_name("ZZ"), None);
        assert_eq!(common_name("USA"), None);
        assert_eq!(common_name("\u{e9}"), None);
        assert_eq!(
            country_from_name("England").map(|c| c.name).as_deref(),
            Some("United Kingdom")
        );
    }
}
