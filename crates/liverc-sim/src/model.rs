//! The simulator's data: what a track's pages show ([`TrackRecord`]), how a
//! caller changes it ([`TrackPatch`]) and the exact account of a change
//! ([`MutationLog`]).
//!
//! Field names follow `liverc::Dashboard` where the two overlap, so an
//! end-to-end test can compare a [`FieldChange`] with what a sync reports
//! without a translation table.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// Everything the simulator knows about one track: the source of its
/// catalogue row and its dashboard.
///
/// Text fields hold the *decoded* values (`"R&R Hobbies"`, not
/// `"R&amp;R Hobbies"`); the renderer escapes them. Absent values are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackRecord {
    /// The first DNS label of the track's host as the catalogue prints it
    /// (one generated track has a mixed-case slug; compare lowercased).
    pub slug: String,
    /// Track name (catalogue row, dashboard title, About panel).
    pub name: String,
    /// Which country and city-line format the address uses.
    pub address_kind: AddressKind,
    /// First address line.
    pub street: Option<String>,
    /// City, suburb or town.
    pub city: Option<String>,
    /// State, province or territory code, when the address carries one.
    pub state: Option<String>,
    /// Postal code as printed (may have leading zeros or an inner space).
    pub postal_code: Option<String>,
    /// Country name as printed on the dashboard.
    pub country: Option<String>,
    /// ISO 3166-1 alpha-2 code, the last part of the map query.
    pub country_code: Option<String>,
    /// Phone as printed (and in the `tel:` link); `None` prints `N/A`.
    pub phone: Option<String>,
    /// Website URL; `None` prints `N/A`.
    pub website: Option<String>,
    /// E-mail address (obfuscated on the page); `None` prints `N/A` or
    /// leaves the line out, see [`TrackRecord::email_line`].
    pub email: Option<String>,
    /// Whether the `E:` line is printed at all when there is no e-mail.
    pub email_line: bool,
    /// Free-text description, lines joined with `\n`.
    pub description: Option<String>,
    /// Logo image URL under `assets.livetimescoring.com/track_logos/`.
    pub logo_url: Option<String>,
    /// Facebook page URL, shown in the Facebook panel.
    pub facebook_url: Option<String>,
    /// Which of the two Facebook panel layouts the dashboard uses.
    pub facebook_style: FacebookStyle,
    /// Lifetime Track Stats panel.
    pub stats: LifetimeStats,
    /// The top tiles' "this month" counts.
    pub month: MonthTiles,
    /// The catalogue row's own fields.
    pub listing: Listing,
    /// How the dashboard's markup is laid out.
    pub markup: MarkupStyle,
}

impl TrackRecord {
    /// The slug as the track's key: lowercased (DNS is case-insensitive).
    pub fn key(&self) -> String {
        self.slug.to_ascii_lowercase()
    }

    /// The city line of the About panel, as printed (`"Lucama, NC 27851"`,
    /// `"Narrabundah 02604"`, `"Fyshwick ACT 2609"`, `"Leeds LS1 4AP"`), or
    /// `None` when the address has no city, state or postal code.
    pub fn city_line(&self) -> Option<String> {
        let mut line = String::new();
        if let Some(city) = &self.city {
            line.push_str(city);
        }
        if let Some(state) = &self.state {
            if !line.is_empty() {
                line.push_str(if self.address_kind.comma_before_state() {
                    ", "
                } else {
                    " "
                });
            }
            line.push_str(state);
        }
        if let Some(postal) = &self.postal_code {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(postal);
        }
        (!line.is_empty()).then_some(line)
    }

    /// The Track Map iframe's `q=` value as printed (raw, not URL-encoded,
    /// like the real site): `street,city,state+postal,CC`, or `None` when the
    /// address has neither street, city nor postal code (no map panel then).
    pub fn map_query(&self) -> Option<String> {
        if self.street.is_none() && self.city.is_none() && self.postal_code.is_none() {
            return None;
        }
        Some(format!(
            "{},{},{}+{},{}",
            self.street.as_deref().unwrap_or(""),
            self.city.as_deref().unwrap_or(""),
            self.state.as_deref().unwrap_or(""),
            self.postal_code.as_deref().unwrap_or(""),
            self.country_code.as_deref().unwrap_or(""),
        ))
    }

    /// The description split into its printed lines.
    pub fn description_lines(&self) -> Vec<&str> {
        self.description
            .as_deref()
            .map(|d| d.split('\n').collect())
            .unwrap_or_default()
    }

    /// The dashboard's "racing now" tile: set when the catalogue row is live.
    pub fn racing_now(&self) -> bool {
        self.listing.live
    }

    /// The value of one field, as a [`FieldChange`] prints it.
    pub fn field(&self, field: TrackField) -> Option<String> {
        match field {
            TrackField::Name => Some(self.name.clone()),
            TrackField::Street => self.street.clone(),
            TrackField::City => self.city.clone(),
            TrackField::State => self.state.clone(),
            TrackField::PostalCode => self.postal_code.clone(),
            TrackField::Country => self.country.clone(),
            TrackField::CountryCode => self.country_code.clone(),
            TrackField::Phone => self.phone.clone(),
            TrackField::Website => self.website.clone(),
            TrackField::Email => self.email.clone(),
            TrackField::Description => self.description.clone(),
            TrackField::LogoUrl => self.logo_url.clone(),
            TrackField::FacebookUrl => self.facebook_url.clone(),
            TrackField::TotalLaps => Some(self.stats.laps.to_string()),
            TrackField::TotalPracticeSessions => Some(self.stats.practice_sessions.to_string()),
            TrackField::TotalRaces => Some(self.stats.races.to_string()),
            TrackField::TotalEntries => Some(self.stats.entries.to_string()),
            TrackField::TotalEvents => Some(self.stats.events.to_string()),
            TrackField::LastUpdatedText => Some(self.listing.last_updated_text.clone()),
            TrackField::CurrentEvent => self.listing.current_event.clone(),
            TrackField::IsLive => Some(self.listing.live.to_string()),
        }
    }
}

/// Country and city-line format of a generated address. Every kind appears
/// in a default-sized catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressKind {
    /// `City, ST 12345`.
    Us,
    /// `City, ST 12345-6789`.
    UsZipPlus4,
    /// `Suburb 2604` (no state).
    AuPlain,
    /// `Suburb ACT 2604` (state, no comma).
    AuState,
    /// `Suburb 02604` (postcode zero-padded to five digits, as some real
    /// dashboards print it).
    AuZeroPadded,
    /// `Town SW1A 1AA` (postcode with an inner space).
    Uk,
    /// `City, ON M5V 2T6`.
    Ca,
    /// `City 12345` or `City, ST 12345` elsewhere (New Zealand, Germany,
    /// France, South Africa, Sweden, Mexico, Japan, Netherlands, China).
    Other,
}

impl AddressKind {
    /// Every kind, in declaration order.
    pub const ALL: [AddressKind; 8] = [
        AddressKind::Us,
        AddressKind::UsZipPlus4,
        AddressKind::AuPlain,
        AddressKind::AuState,
        AddressKind::AuZeroPadded,
        AddressKind::Uk,
        AddressKind::Ca,
        AddressKind::Other,
    ];

    /// Whether the city line puts `", "` between city and state.
    pub fn comma_before_state(self) -> bool {
        !matches!(self, AddressKind::AuState)
    }
}

/// The two layouts of the dashboard's Facebook panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FacebookStyle {
    /// "Facebook Feed": an `fb-page` widget with `data-href` and a link.
    Feed,
    /// "Facebook Page": a plain link.
    Page,
}

/// How a page's markup is laid out. Both occur on the real site's captures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkupStyle {
    /// As served: tab indentation, bare `<br>`, trailing tabs inside lines.
    Raw,
    /// As a pretty-printer leaves it: `<br />`, attributes and closing
    /// brackets wrapped onto their own lines.
    Pretty,
}

/// The Lifetime Track Stats panel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifetimeStats {
    /// "Laps".
    pub laps: u64,
    /// "Practice Sessions".
    pub practice_sessions: u64,
    /// "Races".
    pub races: u64,
    /// "Entries".
    pub entries: u64,
    /// "Events".
    pub events: u64,
}

/// The dashboard's top tiles ("… This Month").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthTiles {
    /// "Results This Month".
    pub results: u64,
    /// "Sessions This Month".
    pub sessions: u64,
    /// "Videos This Month".
    pub videos: u64,
}

/// The status icon of a catalogue row (`i.status_0|1|2`), named after the
/// catalogue's legend like `liverc::TrackStatus` (serialised `"idle"`,
/// `"practicing"`, `"racing"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusIcon {
    /// `status_0`, power-off: "No Track Activity".
    Idle,
    /// `status_1`, clock: "Open Practicing".
    Practicing,
    /// `status_2`, chequered flag: "Racing in Progress".
    Racing,
}

impl StatusIcon {
    /// The `N` of the `status_N` class.
    pub fn index(self) -> u8 {
        match self {
            StatusIcon::Idle => 0,
            StatusIcon::Practicing => 1,
            StatusIcon::Racing => 2,
        }
    }
}

/// How a catalogue row writes its hrefs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HrefStyle {
    /// `//slug.liverc.com/…` (almost every row).
    ProtocolRelative,
    /// `https://slug.liverc.com/…` (a handful).
    Https,
}

/// A catalogue row's own fields.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Listing {
    /// The row links to `/live/` (racing now) instead of `/results/`.
    pub live: bool,
    /// `i.status_video_1`.
    pub live_video: bool,
    /// `i.status_0|1|2`; `Practicing` or `Racing` exactly when `live`.
    pub status: StatusIcon,
    /// `i.status_featured`.
    pub featured: bool,
    /// The relative "last updated" text: "3 hours ago", "Yesterday", …
    pub last_updated_text: String,
    /// `div.indent small`: the current or last event's name.
    pub current_event: Option<String>,
    /// How the row writes its hrefs.
    pub href_style: HrefStyle,
    /// How the row's markup is laid out.
    pub markup: MarkupStyle,
}

/// A field of a [`TrackRecord`] that a mutation can change. Serialised
/// names match `liverc::Dashboard` / `liverc::CatalogueEntry` field names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackField {
    /// Track name (a change of it is logged as a [`Rename`]).
    Name,
    /// First address line.
    Street,
    /// City.
    City,
    /// State or province code.
    State,
    /// Postal code.
    PostalCode,
    /// Country name.
    Country,
    /// ISO country code.
    CountryCode,
    /// Phone.
    Phone,
    /// Website.
    Website,
    /// E-mail.
    Email,
    /// Description.
    Description,
    /// Logo URL.
    LogoUrl,
    /// Facebook URL.
    FacebookUrl,
    /// Lifetime laps.
    TotalLaps,
    /// Lifetime practice sessions.
    TotalPracticeSessions,
    /// Lifetime races.
    TotalRaces,
    /// Lifetime entries.
    TotalEntries,
    /// Lifetime events.
    TotalEvents,
    /// Catalogue: relative "last updated" text.
    LastUpdatedText,
    /// Catalogue: current event.
    CurrentEvent,
    /// Catalogue: the row links to `/live/`.
    IsLive,
}

impl TrackField {
    /// Every field, in declaration order.
    pub const ALL: [TrackField; 21] = [
        TrackField::Name,
        TrackField::Street,
        TrackField::City,
        TrackField::State,
        TrackField::PostalCode,
        TrackField::Country,
        TrackField::CountryCode,
        TrackField::Phone,
        TrackField::Website,
        TrackField::Email,
        TrackField::Description,
        TrackField::LogoUrl,
        TrackField::FacebookUrl,
        TrackField::TotalLaps,
        TrackField::TotalPracticeSessions,
        TrackField::TotalRaces,
        TrackField::TotalEntries,
        TrackField::TotalEvents,
        TrackField::LastUpdatedText,
        TrackField::CurrentEvent,
        TrackField::IsLive,
    ];

    /// The serialised (snake_case) name.
    pub fn as_str(self) -> &'static str {
        match self {
            TrackField::Name => "name",
            TrackField::Street => "street",
            TrackField::City => "city",
            TrackField::State => "state",
            TrackField::PostalCode => "postal_code",
            TrackField::Country => "country",
            TrackField::CountryCode => "country_code",
            TrackField::Phone => "phone",
            TrackField::Website => "website",
            TrackField::Email => "email",
            TrackField::Description => "description",
            TrackField::LogoUrl => "logo_url",
            TrackField::FacebookUrl => "facebook_url",
            TrackField::TotalLaps => "total_laps",
            TrackField::TotalPracticeSessions => "total_practice_sessions",
            TrackField::TotalRaces => "total_races",
            TrackField::TotalEntries => "total_entries",
            TrackField::TotalEvents => "total_events",
            TrackField::LastUpdatedText => "last_updated_text",
            TrackField::CurrentEvent => "current_event",
            TrackField::IsLive => "is_live",
        }
    }

    /// Whether the field shows on the catalogue row only (so changing it
    /// leaves the dashboard and its validators alone).
    pub fn catalogue_only(self) -> bool {
        matches!(self, TrackField::LastUpdatedText | TrackField::CurrentEvent)
    }

    /// Whether the field shows on the catalogue row.
    pub fn on_catalogue(self) -> bool {
        matches!(
            self,
            TrackField::Name
                | TrackField::LastUpdatedText
                | TrackField::CurrentEvent
                | TrackField::IsLive
        )
    }
}

impl fmt::Display for TrackField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reads a present JSON value (including `null`) as `Some(value)`, so that
/// with `#[serde(default)]` an absent key stays `None` ("leave alone") while
/// `null` becomes `Some(None)` ("clear").
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A change to one track's fields. `None` leaves a field alone; for the
/// optional fields `Some(None)` clears it (JSON: key absent = leave alone,
/// `null` = clear).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackPatch {
    /// New name (logged as a [`Rename`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Street line.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub street: Option<Option<String>>,
    /// City.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub city: Option<Option<String>>,
    /// State.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub state: Option<Option<String>>,
    /// Postal code.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub postal_code: Option<Option<String>>,
    /// Country name.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub country: Option<Option<String>>,
    /// ISO country code.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub country_code: Option<Option<String>>,
    /// Phone.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub phone: Option<Option<String>>,
    /// Website.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub website: Option<Option<String>>,
    /// E-mail.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub email: Option<Option<String>>,
    /// Description (lines joined with `\n`).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<Option<String>>,
    /// Logo URL.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub logo_url: Option<Option<String>>,
    /// Facebook URL.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub facebook_url: Option<Option<String>>,
    /// Lifetime laps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_laps: Option<u64>,
    /// Lifetime practice sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_practice_sessions: Option<u64>,
    /// Lifetime races.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_races: Option<u64>,
    /// Lifetime entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_entries: Option<u64>,
    /// Lifetime events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_events: Option<u64>,
    /// Catalogue: relative "last updated" text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated_text: Option<String>,
    /// Catalogue: current event.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub current_event: Option<Option<String>>,
    /// Catalogue: racing now (`/live/` row, status and racing tile follow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_live: Option<bool>,
}

/// One field of one track that a mutation changed, old → new.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FieldChange {
    /// Lowercased slug.
    pub slug: String,
    /// Which field.
    pub field: TrackField,
    /// Before (`None`: absent). Numbers are printed in decimal.
    pub old: Option<String>,
    /// After (`None`: absent).
    pub new: Option<String>,
}

/// A track that changed its name (its slug stays).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Rename {
    /// Lowercased slug.
    pub slug: String,
    /// Name before.
    pub old: String,
    /// Name after.
    pub new: String,
}

/// Exactly what a mutation changed: slugs (lowercased) added and removed,
/// renames, and every other field change old → new. Nothing that did not
/// change is listed (setting a field to its current value logs nothing).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MutationLog {
    /// Tracks added, in catalogue order.
    pub added: Vec<String>,
    /// Tracks removed (their dashboards now 404; they left the catalogue).
    pub removed: Vec<String>,
    /// Name changes.
    pub renamed: Vec<Rename>,
    /// Other field changes, in the order they were made.
    pub changed: Vec<FieldChange>,
}

impl MutationLog {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.renamed.is_empty()
            && self.changed.is_empty()
    }

    /// Appends another log's entries to this one.
    pub fn merge(&mut self, other: MutationLog) {
        self.added.extend(other.added);
        self.removed.extend(other.removed);
        self.renamed.extend(other.renamed);
        self.changed.extend(other.changed);
    }

    /// Every slug the log mentions, sorted and deduplicated.
    pub fn touched_slugs(&self) -> Vec<String> {
        let mut slugs: Vec<String> = self
            .added
            .iter()
            .chain(&self.removed)
            .cloned()
            .chain(self.renamed.iter().map(|r| r.slug.clone()))
            .chain(self.changed.iter().map(|c| c.slug.clone()))
            .collect();
        slugs.sort();
        slugs.dedup();
        slugs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_json_distinguishes_absent_from_null() {
        let patch: TrackPatch =
            serde_json::from_str(r#"{"phone": "+1 919-555-0143", "email": null, "total_laps": 5}"#)
                .expect("valid patch");
        assert_eq!(patch.phone, Some(Some("+1 919-555-0143".to_owned())));
        assert_eq!(patch.email, Some(None));
        assert_eq!(patch.website, None);
        assert_eq!(patch.total_laps, Some(5));
        assert!(serde_json::from_str::<TrackPatch>(r#"{"fone": "1"}"#).is_err());
    }

    #[test]
    fn field_names_match_their_serde_names() {
        for field in [
            TrackField::PostalCode,
            TrackField::TotalPracticeSessions,
            TrackField::LastUpdatedText,
            TrackField::IsLive,
        ] {
            let json = serde_json::to_string(&field).expect("serialise");
            assert_eq!(json, format!("\"{}\"", field.as_str()));
        }
    }
}
