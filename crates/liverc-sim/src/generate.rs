//! Deterministic generation of tracks from a site seed and a track ordinal.
//!
//! Nothing here is stored: a track is its ordinal, and every field is drawn
//! again on demand from `StdRng` streams seeded with (site seed, ordinal).
//! That keeps a 100,000-track site to a few dozen bytes a track; the site
//! stores a full [`TrackRecord`] only for tracks a mutation has changed.
//! Streams are independent so the catalogue can draw a name and a listing
//! without drawing a whole record. Determinism holds across runs of the same
//! binary (the `rand` crate does not promise more across versions).
//!
//! The first [`FORCED`] ordinals get fixed features (every address kind,
//! missing fields, entities, a live row, a featured row) so that even a
//! small site shows every variant.

use std::collections::HashSet;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::model::{
    AddressKind, FacebookStyle, HrefStyle, LifetimeStats, Listing, MarkupStyle, MonthTiles,
    StatusIcon, TrackRecord,
};

/// Ordinals below this get fixed features, see [`forced`].
pub(crate) const FORCED: u32 = 13;

/// The ordinal whose slug keeps its capitals (`ThunderAlleyRcSpeedway`-like).
pub(crate) const MIXED_CASE_ORDINAL: u32 = 7;

/// First labels a track slug never takes: the site's own hosts (a superset of
/// what the `liverc` parser rejects as infrastructure).
pub(crate) const RESERVED_SLUGS: &[&str] = &[
    "live", "www", "forum", "help", "blog", "api", "cdn", "static", "mail", "admin", "support",
    "shop", "store", "news", "status", "dev", "staging", "test", "assets", "images", "media",
    "app", "ftp", "m", "mobile", "beta", "results",
];

// ---------------------------------------------------------------------------
// seeding

/// SplitMix64 finaliser: spreads a 64-bit value over all bits.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Independent random streams of one track.
#[derive(Clone, Copy)]
enum Stream {
    /// Identity (country, place, name), then address, contacts, stats.
    Record = 1,
    /// The catalogue row.
    Listing = 2,
    /// Liveness and catalogue-order age.
    Age = 3,
}

fn rng_for(site_seed: u64, ordinal: u32, stream: Stream) -> StdRng {
    StdRng::seed_from_u64(mix(mix(site_seed ^ mix(u64::from(ordinal))) ^ stream as u64))
}

/// A random stream for one-off purposes (mutations, new values).
pub(crate) fn rng_from(seed: u64, salt: u64) -> StdRng {
    StdRng::seed_from_u64(mix(mix(seed) ^ salt))
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn chance(rng: &mut StdRng, p: f64) -> bool {
    rng.random_bool(p.clamp(0.0, 1.0))
}

fn digits(rng: &mut StdRng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

// ---------------------------------------------------------------------------
// places

/// City, state, ZIP prefix (three digits), telephone area code.
struct UsPlace(&'static str, &'static str, &'static str, &'static str);
const US_PLACES: &[UsPlace] = &[
    UsPlace("Lucama", "NC", "278", "252"),
    UsPlace("Louisville", "KY", "402", "502"),
    UsPlace("Springfield", "MO", "658", "417"),
    UsPlace("St George", "UT", "847", "435"),
    UsPlace("Phoenix", "AZ", "850", "602"),
    UsPlace("Mesa", "AZ", "852", "480"),
    UsPlace("Tampa", "FL", "336", "813"),
    UsPlace("Orlando", "FL", "328", "407"),
    UsPlace("Ocala", "FL", "344", "352"),
    UsPlace("Dallas", "TX", "752", "214"),
    UsPlace("Austin", "TX", "787", "512"),
    UsPlace("Houston", "TX", "770", "713"),
    UsPlace("El Paso", "TX", "799", "915"),
    UsPlace("Denver", "CO", "802", "303"),
    UsPlace("Cañon City", "CO", "812", "719"),
    UsPlace("Sacramento", "CA", "958", "916"),
    UsPlace("Fresno", "CA", "937", "559"),
    UsPlace("San Diego", "CA", "921", "619"),
    UsPlace("Reno", "NV", "895", "775"),
    UsPlace("Boise", "ID", "837", "208"),
    UsPlace("Coeur d'Alene", "ID", "838", "208"),
    UsPlace("Portland", "OR", "972", "503"),
    UsPlace("Spokane", "WA", "992", "509"),
    UsPlace("Tacoma", "WA", "984", "253"),
    UsPlace("Omaha", "NE", "681", "402"),
    UsPlace("Wichita", "KS", "672", "316"),
    UsPlace("Tulsa", "OK", "741", "918"),
    UsPlace("Little Rock", "AR", "722", "501"),
    UsPlace("Memphis", "TN", "381", "901"),
    UsPlace("Knoxville", "TN", "379", "865"),
    UsPlace("Birmingham", "AL", "352", "205"),
    UsPlace("Atlanta", "GA", "303", "404"),
    UsPlace("Macon", "GA", "312", "478"),
    UsPlace("Greenville", "SC", "296", "864"),
    UsPlace("Charlotte", "NC", "282", "704"),
    UsPlace("Raleigh", "NC", "276", "919"),
    UsPlace("Roanoke", "VA", "240", "540"),
    UsPlace("Baltimore", "MD", "212", "410"),
    UsPlace("Harrisburg", "PA", "171", "717"),
    UsPlace("Erie", "PA", "165", "814"),
    UsPlace("Albany", "NY", "122", "518"),
    UsPlace("Buffalo", "NY", "142", "716"),
    UsPlace("Hartford", "CT", "061", "860"),
    UsPlace("Worcester", "MA", "016", "508"),
    UsPlace("Manchester", "NH", "031", "603"),
    UsPlace("Bangor", "ME", "044", "207"),
    UsPlace("Columbus", "OH", "432", "614"),
    UsPlace("Dayton", "OH", "454", "937"),
    UsPlace("Indianapolis", "IN", "462", "317"),
    UsPlace("Grand Rapids", "MI", "495", "616"),
    UsPlace("Milwaukee", "WI", "532", "414"),
    UsPlace("Des Moines", "IA", "503", "515"),
    UsPlace("Fargo", "ND", "581", "701"),
    UsPlace("Sioux Falls", "SD", "571", "605"),
    UsPlace("Billings", "MT", "591", "406"),
    UsPlace("Albuquerque", "NM", "871", "505"),
    UsPlace("Baton Rouge", "LA", "708", "225"),
    UsPlace("Jackson", "MS", "392", "601"),
    UsPlace("Anchorage", "AK", "995", "907"),
    UsPlace("Honolulu", "HI", "968", "808"),
];

/// Suburb, state, postcode, the first four digits of a local landline
/// (trunk prefix, area code and exchange: `0262` prints `(02) 62xx xxxx`).
struct AuPlace(&'static str, &'static str, &'static str, &'static str);
const AU_PLACES: &[AuPlace] = &[
    AuPlace("Narrabundah", "ACT", "2604", "0262"),
    AuPlace("Fyshwick", "ACT", "2609", "0262"),
    AuPlace("Batemans Bay", "NSW", "2536", "0244"),
    AuPlace("Campbelltown", "NSW", "2560", "0246"),
    AuPlace("Ryde", "NSW", "2112", "0298"),
    AuPlace("Penrith", "NSW", "2750", "0247"),
    AuPlace("Newcastle", "NSW", "2300", "0249"),
    AuPlace("Wollongong", "NSW", "2500", "0242"),
    AuPlace("Queanbeyan", "NSW", "2620", "0262"),
    AuPlace("Geelong", "VIC", "3220", "0352"),
    AuPlace("Dandenong", "VIC", "3175", "0397"),
    AuPlace("Ballarat", "VIC", "3350", "0353"),
    AuPlace("Bendigo", "VIC", "3550", "0354"),
    AuPlace("Ipswich", "QLD", "4305", "0738"),
    AuPlace("Toowoomba", "QLD", "4350", "0746"),
    AuPlace("Cairns", "QLD", "4870", "0740"),
    AuPlace("Townsville", "QLD", "4810", "0747"),
    AuPlace("Southport", "QLD", "4215", "0755"),
    AuPlace("Elizabeth", "SA", "5112", "0882"),
    AuPlace("Mount Gambier", "SA", "5290", "0887"),
    AuPlace("Joondalup", "WA", "6027", "0893"),
    AuPlace("Bunbury", "WA", "6230", "0897"),
    AuPlace("Launceston", "TAS", "7250", "0363"),
    AuPlace("Hobart", "TAS", "7000", "0362"),
    AuPlace("Darwin", "NT", "0800", "0889"),
    AuPlace("Palmerston", "NT", "0830", "0889"),
];

/// Town, postcode district, a local landline in national form (see
/// [`fill_digits`]).
struct UkPlace(&'static str, &'static str, &'static str);
const UK_PLACES: &[UkPlace] = &[
    UkPlace("London", "SW1A", "020 8### ####"),
    UkPlace("Milton Keynes", "MK9", "01908 6#####"),
    UkPlace("Coventry", "CV1", "024 76## ####"),
    UkPlace("Leeds", "LS1", "0113 2## ####"),
    UkPlace("Sheffield", "S1", "0114 2## ####"),
    UkPlace("Bristol", "BS1", "0117 9## ####"),
    UkPlace("Swindon", "SN1", "01793 5#####"),
    UkPlace("Cardiff", "CF10", "029 20## ####"),
    UkPlace("Glasgow", "G2", "0141 4## ####"),
    UkPlace("Edinburgh", "EH1", "0131 4## ####"),
    UkPlace("Norwich", "NR1", "01603 6#####"),
    UkPlace("Peterborough", "PE1", "01733 5#####"),
    UkPlace("Northampton", "NN1", "01604 6#####"),
    UkPlace("Stoke-on-Trent", "ST1", "01782 2#####"),
    UkPlace("Telford", "TF3", "01952 2#####"),
    UkPlace("Belfast", "BT1", "028 90## ####"),
    UkPlace("Plymouth", "PL1", "01752 2#####"),
    UkPlace("Exeter", "EX1", "01392 2#####"),
    UkPlace("Hastings", "TN34", "01424 4#####"),
    UkPlace("King's Lynn", "PE30", "01553 7#####"),
];

/// City, province, forward sortation area, telephone area code.
struct CaPlace(&'static str, &'static str, &'static str, &'static str);
const CA_PLACES: &[CaPlace] = &[
    CaPlace("Toronto", "ON", "M5V", "416"),
    CaPlace("Mississauga", "ON", "L5B", "905"),
    CaPlace("Ottawa", "ON", "K1P", "613"),
    CaPlace("Hamilton", "ON", "L8P", "905"),
    CaPlace("Montréal", "QC", "H3B", "514"),
    CaPlace("Québec", "QC", "G1R", "418"),
    CaPlace("Laval", "QC", "H7N", "450"),
    CaPlace("Calgary", "AB", "T2P", "403"),
    CaPlace("Edmonton", "AB", "T5J", "780"),
    CaPlace("Vancouver", "BC", "V6B", "604"),
    CaPlace("Kelowna", "BC", "V1Y", "250"),
    CaPlace("Winnipeg", "MB", "R3C", "204"),
    CaPlace("Regina", "SK", "S4P", "306"),
    CaPlace("Saskatoon", "SK", "S7K", "306"),
    CaPlace("Halifax", "NS", "B3H", "902"),
    CaPlace("Moncton", "NB", "E1C", "506"),
    CaPlace("St. John's", "NL", "A1C", "709"),
];

/// Index of Montréal in [`CA_PLACES`] (forced on one ordinal: an accent).
const CA_ACCENTED: usize = 4;

struct OtherPlace {
    country: &'static str,
    code: &'static str,
    city: &'static str,
    state: Option<&'static str>,
    postal: &'static str,
    /// Country calling code, without the `+`.
    phone_cc: &'static str,
    /// A local landline in national form (see [`fill_digits`]).
    landline: &'static str,
}

const fn other(
    country: &'static str,
    code: &'static str,
    city: &'static str,
    state: Option<&'static str>,
    postal: &'static str,
    phone_cc: &'static str,
    landline: &'static str,
) -> OtherPlace {
    OtherPlace {
        country,
        code,
        city,
        state,
        postal,
        phone_cc,
        landline,
    }
}

const OTHER_PLACES: &[OtherPlace] = &[
    other(
        "New Zealand",
        "NZ",
        "Auckland",
        None,
        "1010",
        "64",
        "09 N## ####",
    ),
    other(
        "New Zealand",
        "NZ",
        "Christchurch",
        None,
        "8011",
        "64",
        "03 3## ####",
    ),
    other(
        "New Zealand",
        "NZ",
        "Tauranga",
        None,
        "3110",
        "64",
        "07 5## ####",
    ),
    other(
        "New Zealand",
        "NZ",
        "Palmerston North",
        None,
        "4410",
        "64",
        "06 35# ####",
    ),
    other(
        "Germany",
        "DE",
        "Berlin",
        None,
        "10115",
        "49",
        "030 N#######",
    ),
    other(
        "Germany",
        "DE",
        "München",
        None,
        "80331",
        "49",
        "089 N#######",
    ),
    other("Germany", "DE", "Köln", None, "50667", "49", "0221 N######"),
    other(
        "Germany",
        "DE",
        "Düsseldorf",
        None,
        "40213",
        "49",
        "0211 N######",
    ),
    other(
        "France",
        "FR",
        "Besançon",
        None,
        "25000",
        "33",
        "03 81 ## ## ##",
    ),
    other(
        "France",
        "FR",
        "Nîmes",
        None,
        "30000",
        "33",
        "04 66 ## ## ##",
    ),
    other(
        "France",
        "FR",
        "Toulouse",
        None,
        "31000",
        "33",
        "05 61 ## ## ##",
    ),
    other(
        "South Africa",
        "ZA",
        "Meyerton",
        None,
        "1961",
        "27",
        "016 36# ####",
    ),
    other(
        "South Africa",
        "ZA",
        "Pretoria",
        None,
        "0002",
        "27",
        "012 N## ####",
    ),
    other(
        "South Africa",
        "ZA",
        "Durban",
        None,
        "4001",
        "27",
        "031 N## ####",
    ),
    other(
        "Sweden",
        "SE",
        "Göteborg",
        None,
        "411 01",
        "46",
        "031-N## ## ##",
    ),
    other(
        "Sweden",
        "SE",
        "Malmö",
        None,
        "211 20",
        "46",
        "040-N# ## ##",
    ),
    other(
        "Mexico",
        "MX",
        "Querétaro",
        Some("QRO"),
        "76000",
        "52",
        "442 N## ####",
    ),
    other(
        "Mexico",
        "MX",
        "Monterrey",
        Some("NL"),
        "64000",
        "52",
        "81 N### ####",
    ),
    other(
        "Japan",
        "JP",
        "Yokohama",
        None,
        "220-0012",
        "81",
        "045-N##-####",
    ),
    other(
        "Netherlands",
        "NL",
        "Rotterdam",
        None,
        "3011 AA",
        "31",
        "010 N## ####",
    ),
    other(
        "China",
        "CN",
        "Shanghai",
        None,
        "200000",
        "86",
        "021 N### ####",
    ),
    other(
        "Puerto Rico",
        "PR",
        "Bayamón",
        None,
        "00959",
        "1",
        "(787) X-####",
    ),
];

// ---------------------------------------------------------------------------
// names

const ADJECTIVES: &[&str] = &[
    "Thunder",
    "Rapid",
    "Iron",
    "Apex",
    "Velocity",
    "Red Dirt",
    "Blue Line",
    "Gold",
    "Silver",
    "Wild",
    "Lightning",
    "Turbo",
    "Nitro",
    "Redline",
    "Rocket",
    "Desert",
    "Mountain",
    "Coastal",
    "River",
    "Eagle",
    "Black Rock",
    "Outlaw",
    "Full Throttle",
    "High Desert",
    "Lone Star",
    "Big Sky",
    "Cedar",
    "Pine",
    "Granite",
    "Sandhill",
    "Mud",
    "Dusty",
    "Backyard",
    "Victory",
    "Checkered",
    "Rough",
    "Crossroads",
    "Trackside",
    "Hilltop",
    "Tri-County",
];

const NOUNS: &[&str] = &[
    "Alley", "Ridge", "Valley", "Creek", "Canyon", "Hollow", "Junction", "Bend", "Point", "Flats",
    "Summit", "Harbor", "Pass", "Mesa", "Bay", "Grove", "Hills", "Lake", "Trail", "Corner",
];

const SURNAMES: &[&str] = &[
    "Bob",
    "Mike",
    "Dave",
    "Tony",
    "Jimmy",
    "Eddie",
    "Rusty",
    "Smitty",
    "Gary",
    "Kev",
    "Big Al",
    "Uncle Ray",
    "Murphy",
    "O'Neil",
    "McAllister",
    "Nguyen",
    "García",
    "Kowalski",
    "Müller",
    "Dubois",
];

const SUFFIXES: &[&str] = &[
    "RC Raceway",
    "RC Speedway",
    "Raceway",
    "R/C Raceway",
    "Radio Control Raceway",
    "Model Car Club",
    "Off-Road Park",
    "Off Road Model Car Club",
    "Hobbies",
    "RC Hobbies",
    "Indoor RC",
    "RC Club",
    "Dirt Oval",
    "Motorsports Park",
    "RC Park",
    "Race Place",
    "RC Racing",
    "Hobby & Raceway",
    "Model Racing Club",
    "Offroad",
    "On-Road Circuit",
    "Carpet Club",
];

/// How a forced ordinal's name is built.
#[derive(Clone, Copy)]
enum NameForce {
    /// `Bob's …`: an apostrophe, printed `&#39;`.
    Possessive,
    /// `R&R …`: an ampersand, printed `&amp;`.
    Ampersand,
}

fn letter(rng: &mut StdRng) -> char {
    char::from(b'A' + rng.random_range(0..26u8))
}

fn draw_name(rng: &mut StdRng, city: &str, force: Option<NameForce>) -> String {
    let pattern = match force {
        Some(NameForce::Possessive) => 7,
        Some(NameForce::Ampersand) => 8,
        None => rng.random_range(0..14u32),
    };
    match pattern {
        0..=3 => format!("{city} {}", pick(rng, SUFFIXES)),
        4 | 5 => format!(
            "{} {} {}",
            pick(rng, ADJECTIVES),
            pick(rng, NOUNS),
            pick(rng, SUFFIXES)
        ),
        6 => format!("{} {}", pick(rng, ADJECTIVES), pick(rng, SUFFIXES)),
        7 => format!(
            "{}'s {}",
            pick(rng, SURNAMES),
            pick(
                rng,
                &["Hobbies", "RC Raceway", "Hobby Shop & Raceway", "Track"]
            )
        ),
        8 => {
            let (a, b) = (letter(rng), letter(rng));
            format!(
                "{a}&{b} {}",
                pick(rng, &["Hobbies", "Raceway", "RC Speedway", "Motorsports"])
            )
        }
        9 => {
            let (a, b) = (letter(rng), letter(rng));
            format!("{a} and {b} {}", pick(rng, &["Raceway", "Hobbies", "RC"]))
        }
        10 => format!(
            "The {} at {city}",
            pick(
                rng,
                &["Bullring", "Dirt Track", "Pit Stop", "Proving Ground"]
            )
        ),
        11 => format!("HobbyTown {city}"),
        12 => format!("{} {}", rng.random_range(100..1000u32), pick(rng, SUFFIXES)),
        _ => format!(
            "{} {city} {}",
            pick(
                rng,
                &[
                    "North", "South", "East", "West", "Greater", "Old Town", "Downtown"
                ]
            ),
            pick(rng, SUFFIXES)
        ),
    }
}

// ---------------------------------------------------------------------------
// identity

/// Where a track is and what it is called: the first draws of its record
/// stream, so drawing the name alone is cheap.
pub(crate) struct Identity {
    pub(crate) kind: AddressKind,
    place: usize,
    pub(crate) name: String,
    /// How the slug is derived from the name, see [`unique_slug`].
    pub(crate) slug_style: u32,
}

struct Forced {
    kind: AddressKind,
    name: Option<NameForce>,
}

fn forced(ordinal: u32) -> Option<Forced> {
    if ordinal >= FORCED {
        return None;
    }
    let (kind, name) = match ordinal {
        0 | 7 | 9 | 11 => (AddressKind::Us, None),
        1 => (AddressKind::AuPlain, None),
        2 => (AddressKind::AuState, None),
        3 => (AddressKind::AuZeroPadded, None),
        4 => (AddressKind::Uk, Some(NameForce::Possessive)),
        5 | 12 => (AddressKind::Ca, None),
        6 => (AddressKind::Other, Some(NameForce::Ampersand)),
        8 => (AddressKind::UsZipPlus4, None),
        10 => (AddressKind::Other, None),
        _ => return None,
    };
    Some(Forced { kind, name })
}

fn draw_kind(rng: &mut StdRng) -> AddressKind {
    let roll = rng.random_range(0..1000u32);
    match roll {
        0..=499 => AddressKind::Us,
        500..=549 => AddressKind::UsZipPlus4,
        550..=609 => AddressKind::AuPlain,
        610..=649 => AddressKind::AuState,
        650..=669 => AddressKind::AuZeroPadded,
        670..=749 => AddressKind::Uk,
        750..=829 => AddressKind::Ca,
        _ => AddressKind::Other,
    }
}

fn places_len(kind: AddressKind) -> usize {
    match kind {
        AddressKind::Us | AddressKind::UsZipPlus4 => US_PLACES.len(),
        AddressKind::AuPlain | AddressKind::AuState | AddressKind::AuZeroPadded => AU_PLACES.len(),
        AddressKind::Uk => UK_PLACES.len(),
        AddressKind::Ca => CA_PLACES.len(),
        AddressKind::Other => OTHER_PLACES.len(),
    }
}

fn place_city(kind: AddressKind, place: usize) -> &'static str {
    match kind {
        AddressKind::Us | AddressKind::UsZipPlus4 => US_PLACES[place].0,
        AddressKind::AuPlain | AddressKind::AuState | AddressKind::AuZeroPadded => {
            AU_PLACES[place].0
        }
        AddressKind::Uk => UK_PLACES[place].0,
        AddressKind::Ca => CA_PLACES[place].0,
        AddressKind::Other => OTHER_PLACES[place].city,
    }
}

fn draw_identity(rng: &mut StdRng, ordinal: u32) -> Identity {
    let forced = forced(ordinal);
    let drawn_kind = draw_kind(rng);
    let kind = forced.as_ref().map_or(drawn_kind, |f| f.kind);
    let drawn_place = rng.random_range(0..places_len(kind));
    let place = if ordinal == 5 {
        CA_ACCENTED
    } else {
        drawn_place
    };
    let name = draw_name(rng, place_city(kind, place), forced.and_then(|f| f.name));
    let slug_style = rng.random_range(0..20u32);
    Identity {
        kind,
        place,
        name,
        slug_style,
    }
}

/// The identity of track `ordinal` (cheap: the first draws of its record
/// stream).
pub(crate) fn identity(site_seed: u64, ordinal: u32) -> Identity {
    draw_identity(&mut rng_for(site_seed, ordinal, Stream::Record), ordinal)
}

/// The name of track `ordinal`.
pub(crate) fn name(site_seed: u64, ordinal: u32) -> String {
    identity(site_seed, ordinal).name
}

/// A fresh name for a rename, different from `old`.
pub(crate) fn new_name(rng: &mut StdRng, old: &str) -> String {
    loop {
        let kind = draw_kind(rng);
        let place = rng.random_range(0..places_len(kind));
        let candidate = draw_name(rng, place_city(kind, place), None);
        if candidate != old {
            return candidate;
        }
    }
}

// ---------------------------------------------------------------------------
// slugs

fn fold_char(c: char, out: &mut String) {
    let folded = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => "a",
        'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => "A",
        'ç' => "c",
        'Ç' => "C",
        'è' | 'é' | 'ê' | 'ë' => "e",
        'È' | 'É' | 'Ê' | 'Ë' => "E",
        'ì' | 'í' | 'î' | 'ï' => "i",
        'Ì' | 'Í' | 'Î' | 'Ï' => "I",
        'ñ' => "n",
        'Ñ' => "N",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => "o",
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => "O",
        'ù' | 'ú' | 'û' | 'ü' => "u",
        'Ù' | 'Ú' | 'Û' | 'Ü' => "U",
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        c if c.is_ascii_alphanumeric() => {
            out.push(c);
            return;
        }
        _ => return,
    };
    out.push_str(folded);
}

/// ASCII-folded alphanumerics of `s`, case kept.
fn alnum(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        fold_char(c, &mut out);
    }
    out
}

const GENERIC_WORDS: &[&str] = &[
    "rc",
    "r/c",
    "raceway",
    "speedway",
    "hobbies",
    "hobby",
    "club",
    "park",
    "model",
    "car",
    "off-road",
    "off",
    "road",
    "the",
    "and",
    "motorsports",
    "radio",
    "control",
    "indoor",
    "racing",
    "race",
    "place",
    "at",
    "track",
    "shop",
    "&",
    "dirt",
    "oval",
    "offroad",
    "on-road",
    "circuit",
    "carpet",
];

fn slug_base(style: u32, name: &str) -> String {
    let words: Vec<&str> = name.split_whitespace().collect();
    let full = alnum(name).to_ascii_lowercase();
    let base = match style {
        0..=12 => full.clone(),
        13..=15 => words
            .iter()
            .filter(|w| !GENERIC_WORDS.contains(&w.to_ascii_lowercase().as_str()))
            .map(|w| alnum(w).to_ascii_lowercase())
            .collect(),
        16 | 17 => {
            let initials: String = words
                .iter()
                .filter_map(|w| alnum(w).chars().next())
                .collect::<String>()
                .to_ascii_lowercase();
            format!("{initials}rc")
        }
        _ => format!(
            "{}rc",
            words
                .first()
                .map(|w| alnum(w).to_ascii_lowercase())
                .unwrap_or_default()
        ),
    };
    let base = if base.len() < 3 { full } else { base };
    base.chars().take(30).collect()
}

/// The hash a site indexes a lowercase slug by. Two live slugs never share
/// one: [`unique_slug`] treats a taken hash as a taken slug.
pub(crate) fn slug_hash(key: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    key.hash(&mut hasher);
    hasher.finish()
}

/// A unique slug for `name`, registering the hash of its lowercase form in
/// `taken`.
/// `mixed_case` keeps the name's capitals (`ThunderAlleyRCSpeedway`).
pub(crate) fn unique_slug(
    ordinal: u32,
    identity: &Identity,
    mixed_case: bool,
    taken: &mut HashSet<u64>,
) -> String {
    let name = identity.name.as_str();
    let mut base = if mixed_case {
        alnum(name).chars().take(40).collect()
    } else {
        slug_base(identity.slug_style, name)
    };
    if base.is_empty() {
        base = format!("track{ordinal}");
    }
    let mut candidate = base.clone();
    let mut n = 2u32;
    loop {
        let key = candidate.to_ascii_lowercase();
        if !RESERVED_SLUGS.contains(&key.as_str()) && taken.insert(slug_hash(&key)) {
            return candidate;
        }
        candidate = format!("{base}{n}");
        n += 1;
    }
}

// ---------------------------------------------------------------------------
// listing

/// Minutes since the row's last update, for the relative text and the
/// catalogue order. Live rows are one minute old.
fn draw_age_minutes(rng: &mut StdRng) -> u64 {
    const HOUR: u64 = 60;
    const DAY: u64 = 24 * HOUR;
    match rng.random_range(0..1000u32) {
        0..=9 => rng.random_range(2..60),
        10..=19 => rng.random_range(60..2 * HOUR),
        20..=249 => rng.random_range(2 * HOUR..DAY),
        250..=299 => rng.random_range(DAY..2 * DAY),
        300..=419 => rng.random_range(2 * DAY..7 * DAY),
        420..=539 => rng.random_range(7 * DAY..14 * DAY),
        540..=699 => rng.random_range(14 * DAY..30 * DAY),
        700..=829 => rng.random_range(30 * DAY..60 * DAY),
        830..=994 => rng.random_range(60 * DAY..365 * DAY),
        _ => rng.random_range(365 * DAY..3 * 365 * DAY),
    }
}

/// The real catalogue's relative text for an age in minutes.
pub(crate) fn relative_text(minutes: u64) -> String {
    let hours = minutes / 60;
    let days = minutes / (24 * 60);
    match minutes {
        m if m < 2 => "1 minute ago".to_owned(),
        m if m < 60 => format!("{m} minutes ago"),
        _ if hours < 2 => "1 hour ago".to_owned(),
        _ if hours < 24 => format!("{hours} hours ago"),
        _ if days < 2 => "Yesterday".to_owned(),
        _ if days < 7 => format!("{days} days ago"),
        _ if days < 14 => "last week".to_owned(),
        _ if days < 30 => format!("{} weeks ago", days / 7),
        _ if days < 60 => "last month".to_owned(),
        _ if days < 365 => format!("{} months ago", days / 30),
        _ if days < 730 => "last year".to_owned(),
        _ => format!("{} years ago", days / 365),
    }
}

const EVENT_SERIES: &[&str] = &[
    "Winter Race Series",
    "Summer Points Series",
    "Club Race",
    "Points Week",
    "Send It Saturday Round",
    "Friday Night Worlds",
    "Oval Winter Points Series Race",
    "Mini / Micro Off-Road Point Series",
    "Mod & F1 Series",
    "Buggy 1/8 & 4wd 1/10",
    "Toys for Tots Offroad",
    "Foam On-Road Saturday Races",
    "Shootout Round",
    "Carpet Championship",
    "Night Race",
    "Practice Day",
    "Spring Nationals",
    "Regional Qualifier",
    "Dirt Oval Championship",
    "Indoor Off-Road Series",
    "个人项目",
    "Coupe de la Ville",
];

/// An event name (`div.indent small`).
pub(crate) fn draw_event(rng: &mut StdRng) -> String {
    let series = pick(rng, EVENT_SERIES);
    match rng.random_range(0..4u32) {
        0 => format!("{series} #{}", rng.random_range(1..13u32)),
        1 => format!("{} {series}", rng.random_range(2019..2027u32)),
        2 => format!(
            "{series} {}/{}/{}",
            rng.random_range(1..13u32),
            rng.random_range(1..29u32),
            rng.random_range(20..27u32)
        ),
        _ => (*series).to_owned(),
    }
}

/// Whether track `ordinal` is live, and its age in minutes (one minute when
/// live): all the catalogue order needs, from one stream.
pub(crate) fn liveness(site_seed: u64, ordinal: u32) -> (bool, u64) {
    let mut rng = rng_for(site_seed, ordinal, Stream::Age);
    let live_roll = chance(&mut rng, 0.115);
    let drawn_age = draw_age_minutes(&mut rng);
    let live = match ordinal {
        0 | 2 => true,
        1 | 3 => false,
        _ => live_roll,
    };
    (live, if live { 1 } else { drawn_age })
}

/// The catalogue row of track `ordinal`.
pub(crate) fn listing(site_seed: u64, ordinal: u32) -> Listing {
    let (live, age) = liveness(site_seed, ordinal);
    let mut rng = rng_for(site_seed, ordinal, Stream::Listing);
    let racing_roll = chance(&mut rng, 0.15);
    let video_live = chance(&mut rng, 0.27);
    let video_idle = chance(&mut rng, 0.003);
    let featured_roll = chance(&mut rng, 0.01);
    let has_event = chance(&mut rng, 0.96);
    let event = draw_event(&mut rng);
    let https = chance(&mut rng, 0.01);
    let pretty = chance(&mut rng, 0.3);

    let status = match (live, ordinal) {
        (false, _) => StatusIcon::Idle,
        (true, 0) => StatusIcon::Racing,
        (true, 2) => StatusIcon::Practicing,
        (true, _) if racing_roll => StatusIcon::Racing,
        (true, _) => StatusIcon::Practicing,
    };
    Listing {
        live,
        live_video: ordinal == 0 || if live { video_live } else { video_idle },
        status,
        featured: ordinal == 1 || featured_roll,
        last_updated_text: relative_text(age),
        current_event: (has_event || ordinal == 0).then_some(event),
        href_style: if https || ordinal == 6 {
            HrefStyle::Https
        } else {
            HrefStyle::ProtocolRelative
        },
        markup: if pretty || ordinal == 0 {
            MarkupStyle::Pretty
        } else {
            MarkupStyle::Raw
        },
    }
}

// ---------------------------------------------------------------------------
// the record

const US_STREETS: &[&str] = &[
    "Main",
    "Industrial",
    "Airport",
    "Oak",
    "Maple",
    "Commerce",
    "Cedar",
    "Elm",
    "Park",
    "Lake",
    "Mill",
    "Depot",
    "Fairground",
    "Speedway",
    "Hickory",
    "Pecan",
    "Sunset",
    "Ridge",
];
const US_STREET_SUFFIXES: &[&str] = &[
    "St", "Street", "Rd", "Road", "Ave", "Blvd", "Pkwy", "Dr", "Ln", "Way", "Ct",
];
const AU_STREETS: &[&str] = &[
    "Kyeema",
    "Hanging Rock",
    "Wattle",
    "Banksia",
    "Boundary",
    "Bunya",
    "Jacaranda",
    "Coolabah",
    "Waratah",
    "Yarra",
    "Murray",
    "Bellarine",
];
const UK_STREETS: &[&str] = &[
    "Riverside",
    "Station",
    "Mill",
    "Church",
    "Manor",
    "Meadow",
    "Kingsway",
    "Brook",
    "Victoria",
    "Abbey",
];

/// A street line for the place: a house number on most (about nine in ten
/// overall), the rest named grounds, farms, units and lots as clubs print
/// them.
fn draw_street(rng: &mut StdRng, kind: AddressKind, place: usize) -> String {
    match kind {
        AddressKind::Us | AddressKind::UsZipPlus4 => match rng.random_range(0..10u32) {
            0 => format!(
                "{} US {}",
                rng.random_range(100..9999u32),
                rng.random_range(1..400u32)
            ),
            1 => format!(
                "{} State Route {}",
                rng.random_range(100..9999u32),
                rng.random_range(1..200u32)
            ),
            2 => format!(
                "{} {} {} Suite {}",
                rng.random_range(10..9999u32),
                pick(rng, US_STREETS),
                pick(rng, US_STREET_SUFFIXES),
                rng.random_range(100..400u32)
            ),
            _ => format!(
                "{} {} {}",
                rng.random_range(10..29999u32),
                pick(rng, US_STREETS),
                pick(rng, US_STREET_SUFFIXES)
            ),
        },
        AddressKind::AuPlain | AddressKind::AuState | AddressKind::AuZeroPadded => {
            // Mostly numbered; a few sports grounds and lots, as clubs print them.
            match rng.random_range(0..20u32) {
                0 => format!("{} Street", pick(rng, AU_STREETS)),
                1 => format!("{} Complex", pick(rng, AU_STREETS)),
                2 => format!("{} Reserve", pick(rng, AU_STREETS)),
                3 => format!(
                    "Lot {}, {} Road",
                    rng.random_range(1..99u32),
                    pick(rng, AU_STREETS)
                ),
                _ => format!(
                    "{} {} {}",
                    rng.random_range(1..400u32),
                    pick(rng, AU_STREETS),
                    pick(rng, &["Street", "Road", "Drive", "Avenue", "Parade"])
                ),
            }
        }
        AddressKind::Uk => match rng.random_range(0..10u32) {
            0 => format!(
                "Unit {}, {} Industrial Estate",
                rng.random_range(1..40u32),
                pick(rng, UK_STREETS)
            ),
            1 => format!("{} Farm", pick(rng, UK_STREETS)),
            _ => format!(
                "{} {} {}",
                rng.random_range(1..300u32),
                pick(rng, UK_STREETS),
                pick(rng, &["Road", "Lane", "Street", "Close"])
            ),
        },
        AddressKind::Ca => {
            if CA_PLACES[place].1 == "QC" {
                format!(
                    "{} rue {}",
                    rng.random_range(1..9999u32),
                    pick(
                        rng,
                        &["Saint-Denis", "Notre-Dame", "Sherbrooke", "de l'Église"]
                    )
                )
            } else {
                format!(
                    "{} {} {}",
                    rng.random_range(1..9999u32),
                    pick(rng, US_STREETS),
                    pick(rng, &["Street", "Avenue", "Road", "Boulevard", "Crescent"])
                )
            }
        }
        AddressKind::Other => {
            let n = rng.random_range(1..200u32);
            match OTHER_PLACES[place].code {
                "DE" => format!(
                    "{}straße {n}",
                    pick(rng, &["Haupt", "Bahnhof", "Ring", "Wald"])
                ),
                "FR" => format!(
                    "{n} rue de la {}",
                    pick(rng, &["Gare", "République", "Paix"])
                ),
                "SE" => {
                    let street = format!("{}gatan", pick(rng, &["Stor", "Kungs", "Ström"]));
                    // Now and then without a number: ambiguous on its own.
                    if chance(rng, 0.1) {
                        street
                    } else {
                        format!("{street} {n}")
                    }
                }
                "NL" => format!("{}straat {n}", pick(rng, &["Kerk", "Molen", "Dorp"])),
                "MX" => format!("Av. {} {n}", pick(rng, &["Juárez", "Hidalgo", "Reforma"])),
                "JP" => format!(
                    "{}-{}-{n} Minato",
                    rng.random_range(1..9u32),
                    rng.random_range(1..30u32)
                ),
                _ => format!(
                    "{n} {} Road",
                    pick(rng, &["Great North", "Racecourse", "Harbour", "Main"])
                ),
            }
        }
    }
}

const UK_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";

struct Address {
    city: String,
    state: Option<String>,
    postal: String,
    country: &'static str,
    code: &'static str,
}

fn draw_address(rng: &mut StdRng, kind: AddressKind, place: usize) -> Address {
    match kind {
        AddressKind::Us | AddressKind::UsZipPlus4 => {
            let p = &US_PLACES[place];
            let mut postal = format!("{}{}", p.2, digits(rng, 2));
            if kind == AddressKind::UsZipPlus4 {
                postal.push('-');
                postal.push_str(&digits(rng, 4));
            }
            Address {
                city: p.0.to_owned(),
                state: Some(p.1.to_owned()),
                postal,
                country: "United States",
                code: "US",
            }
        }
        AddressKind::AuPlain | AddressKind::AuState | AddressKind::AuZeroPadded => {
            let p = &AU_PLACES[place];
            Address {
                city: p.0.to_owned(),
                state: (kind == AddressKind::AuState).then(|| p.1.to_owned()),
                postal: if kind == AddressKind::AuZeroPadded {
                    format!("0{}", p.2)
                } else {
                    p.2.to_owned()
                },
                country: "Australia",
                code: "AU",
            }
        }
        AddressKind::Uk => {
            let p = &UK_PLACES[place];
            let inward = format!(
                "{}{}{}",
                rng.random_range(0..10u8),
                char::from(*pick(rng, UK_LETTERS)),
                char::from(*pick(rng, UK_LETTERS))
            );
            Address {
                city: p.0.to_owned(),
                state: None,
                postal: format!("{} {inward}", p.1),
                country: "United Kingdom",
                code: "GB",
            }
        }
        AddressKind::Ca => {
            let p = &CA_PLACES[place];
            let ldu = format!(
                "{}{}{}",
                rng.random_range(0..10u8),
                letter(rng),
                rng.random_range(0..10u8)
            );
            Address {
                city: p.0.to_owned(),
                state: Some(p.1.to_owned()),
                postal: format!("{} {ldu}", p.2),
                country: "Canada",
                code: "CA",
            }
        }
        AddressKind::Other => {
            let p = &OTHER_PLACES[place];
            Address {
                city: p.city.to_owned(),
                state: p.state.map(str::to_owned),
                postal: p.postal.to_owned(),
                country: p.country,
                code: p.code,
            }
        }
    }
}

/// Mobile numbers in national form (see [`fill_digits`]), by ISO code:
/// prefixes the numbering plans assign to mobile networks.
const MOBILES: &[(&str, &[&str])] = &[
    (
        "AU",
        &[
            "040# ### ###",
            "041# ### ###",
            "042# ### ###",
            "043# ### ###",
        ],
    ),
    (
        "GB",
        &[
            "0740# ######",
            "0741# ######",
            "0751# ######",
            "0753# ######",
            "0756# ######",
            "0771# ######",
            "0773# ######",
            "0775# ######",
            "0780# ######",
            "0785# ######",
            "0792# ######",
            "0795# ######",
        ],
    ),
    ("NZ", &["021 ### ####", "027 ### ####", "022 ### ####"]),
    (
        "DE",
        &[
            "0151 ########",
            "0160 #######",
            "0170 #######",
            "0176 ########",
        ],
    ),
    (
        "FR",
        &[
            "06 1# ## ## ##",
            "06 2# ## ## ##",
            "06 4# ## ## ##",
            "06 7# ## ## ##",
            "06 8# ## ## ##",
            "07 6# ## ## ##",
        ],
    ),
    (
        "ZA",
        &[
            "082 ### ####",
            "083 ### ####",
            "072 ### ####",
            "084 ### ####",
        ],
    ),
    ("SE", &["070-### ## ##", "073-### ## ##", "076-### ## ##"]),
    ("MX", &["442 N## ####", "81 N### ####"]),
    ("JP", &["090-N###-####", "080-N###-####"]),
    (
        "NL",
        &["06 1#######", "06 2#######", "06 4#######", "06 5#######"],
    ),
    ("CN", &["139 #### ####", "138 #### ####", "186 #### ####"]),
];

/// Replaces each `#` of `template` with a digit, each `N` with a digit 2–9
/// (a subscriber number's first digit) and each `X` with a North American
/// exchange code (`NXX`, never `N11` nor the fictional `555`); other
/// characters are kept.
fn fill_digits(rng: &mut StdRng, template: &str) -> String {
    let mut out = String::with_capacity(template.len() + 2);
    for c in template.chars() {
        match c {
            '#' => out.push(char::from(b'0' + rng.random_range(0..10u8))),
            'N' => out.push(char::from(b'0' + rng.random_range(2..10u8))),
            'X' => {
                let exchange = loop {
                    let code = rng.random_range(200..1000u32);
                    if code % 100 != 11 && code != 555 {
                        break code;
                    }
                };
                out.push_str(&exchange.to_string());
            }
            c => out.push(c),
        }
    }
    out
}

/// A national-form number (`09 123 4567`, `(02) 6212 3456`) in
/// international form (`+64 9 123 4567`, `+61 2 6212 3456`): the trunk `0`
/// dropped, the calling code put in front.
fn international(cc: &str, national: &str) -> String {
    let bare: String = national
        .chars()
        .filter(|c| !matches!(c, '(' | ')'))
        .collect();
    format!("+{cc} {}", bare.strip_prefix('0').unwrap_or(&bare))
}

/// A North American number for `area` in one of the printed forms the real
/// dashboards use.
fn nanp_phone(rng: &mut StdRng, area: &str) -> String {
    let local = fill_digits(rng, "X-####");
    match rng.random_range(0..4u32) {
        0 => format!("+1 {area}-{local}"),
        1 => format!("({area}) {local}"),
        2 => format!("{area}.{}", local.replace('-', ".")),
        _ => format!("{area}-{local}"),
    }
}

/// A landline (`landline`, national form) or one of the country's mobile
/// prefixes, printed nationally or internationally.
fn plan_phone(rng: &mut StdRng, code: &str, cc: &str, landline: &str) -> String {
    let mobiles = MOBILES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(&[][..], |(_, m)| *m);
    let mobile = !mobiles.is_empty() && chance(rng, 0.45);
    let template = if mobile {
        *pick(rng, mobiles)
    } else {
        landline
    };
    let national = fill_digits(rng, template);
    if chance(rng, 0.35) {
        international(cc, &national)
    } else {
        national
    }
}

/// A phone number valid for the place's country (real area codes and
/// mobile prefixes, the right lengths), in the country's usual printed
/// forms, national or international.
pub(crate) fn draw_phone(rng: &mut StdRng, kind: AddressKind, place: usize) -> String {
    match kind {
        AddressKind::Us | AddressKind::UsZipPlus4 => {
            let area = US_PLACES.get(place).map_or("252", |p| p.3);
            nanp_phone(rng, area)
        }
        AddressKind::Ca => {
            let area = CA_PLACES.get(place).map_or("416", |p| p.3);
            nanp_phone(rng, area)
        }
        AddressKind::AuPlain | AddressKind::AuState | AddressKind::AuZeroPadded => {
            let prefix = AU_PLACES.get(place).map_or("0262", |p| p.3);
            let (area, exchange) = prefix.split_at(2);
            let landline = match rng.random_range(0..2u32) {
                0 => format!("({area}) {exchange}## ####"),
                _ => format!("{area} {exchange}## ####"),
            };
            plan_phone(rng, "AU", "61", &landline)
        }
        AddressKind::Uk => {
            let landline = UK_PLACES.get(place).map_or("020 8### ####", |p| p.2);
            plan_phone(rng, "GB", "44", landline)
        }
        AddressKind::Other => match OTHER_PLACES.get(place) {
            Some(p) if p.phone_cc == "1" => {
                let area = if chance(rng, 0.5) { "787" } else { "939" };
                nanp_phone(rng, area)
            }
            Some(p) => plan_phone(rng, p.code, p.phone_cc, p.landline),
            None => nanp_phone(rng, "252"),
        },
    }
}

const MAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "aol.com",
    "yahoo.com",
    "outlook.com",
    "hotmail.com",
    "icloud.com",
];

/// An e-mail address for a track slug.
pub(crate) fn draw_email(rng: &mut StdRng, slug: &str, kind: AddressKind) -> String {
    let user = match rng.random_range(0..5u32) {
        0 => "info".to_owned(),
        1 => "racing".to_owned(),
        2 => format!("{slug}{}", rng.random_range(1..99u32)),
        3 => format!(
            "{}.{}",
            pick(rng, &["john", "sam", "lee", "kim", "alex", "chris"]),
            pick(rng, &["smith", "jones", "brown", "taylor", "wilson"])
        ),
        _ => slug.to_owned(),
    };
    let domain = match (rng.random_range(0..3u32), kind) {
        (0, _) => format!("{slug}.{}", tld(kind)),
        (1, AddressKind::AuPlain | AddressKind::AuState | AddressKind::AuZeroPadded) => {
            "bigpond.com".to_owned()
        }
        (1, AddressKind::Uk) => "btinternet.com".to_owned(),
        _ => (*pick(rng, MAIL_DOMAINS)).to_owned(),
    };
    format!("{user}@{domain}")
}

fn tld(kind: AddressKind) -> &'static str {
    match kind {
        AddressKind::AuPlain | AddressKind::AuState | AddressKind::AuZeroPadded => "com.au",
        AddressKind::Uk => "co.uk",
        AddressKind::Ca => "ca",
        _ => "com",
    }
}

/// A website URL for a track slug.
pub(crate) fn draw_website(rng: &mut StdRng, slug: &str, kind: AddressKind) -> String {
    match rng.random_range(0..6u32) {
        0 => format!("http://www.{slug}.{}/", tld(kind)),
        1 => format!("https://{slug}.{}", tld(kind)),
        2 => format!("http://{slug}.wixsite.com/home"),
        3 => format!("https://www.facebook.com/{slug}"),
        4 => format!("https://www.{slug}.{}/racing/", tld(kind)),
        _ => format!("http://www.{slug}.{}", tld(kind)),
    }
}

const DESCRIPTION_LINES: &[&str] = &[
    "Two (2) Indoor Tracks:",
    "1/10 Dirt Oval indoors.",
    "1/10 Off-Road Indoors.",
    "Also a Huge 1/8 scale Outdoor Off-road track with 48' covered drivers stand.",
    "Paved parking lot touring car racing action!",
    "Paved Asphalt Drag Strip 300' with run-off area.",
    "On-site hobby shop for all of your needs!!",
    "Wi-Fi available.",
    "Club racing every Sunday & practice Wednesday nights.",
    "Canteen & toilets on site.",
    "Astroturf & clay surface, 40m straight.",
    "Drivers' stand with shade & power.",
    "Members' track: visitors welcome, day fee applies.",
    "Open to all ages <18 must be supervised.",
    "Rennstrecke für 1/8 & 1/10 Verbrenner.",
    "Piste extérieure éclairée, ouverte à l'année.",
    "Gates open at 8:00, racing starts at 10:00.",
    "Check our Facebook page for race-day updates.",
];

/// A description of one to six lines, joined with `\n`.
pub(crate) fn draw_description(rng: &mut StdRng) -> String {
    let lines = rng.random_range(1..7usize);
    let start = rng.random_range(0..DESCRIPTION_LINES.len());
    (0..lines)
        .map(|i| DESCRIPTION_LINES[(start + i * 5) % DESCRIPTION_LINES.len()])
        .collect::<Vec<_>>()
        .join("\n")
}

/// Lifetime stats: most tracks modest, a few huge, a few zero.
pub(crate) fn draw_stats(rng: &mut StdRng) -> LifetimeStats {
    if chance(rng, 0.02) {
        return LifetimeStats::default();
    }
    let events = (10f64.powf(rng.random_range(0.0..3.2)) as u64).max(1);
    let races = events * rng.random_range(8..40);
    let entries = races * rng.random_range(10..25) / 10;
    let practice_sessions = events * rng.random_range(5..130);
    let laps = entries * rng.random_range(10..30) + practice_sessions * rng.random_range(10..25);
    LifetimeStats {
        laps,
        practice_sessions,
        races,
        entries,
        events,
    }
}

/// The full record of track `ordinal`, whose slug the catalogue assigned.
pub(crate) fn record(site_seed: u64, ordinal: u32, slug: &str) -> TrackRecord {
    let mut rng = rng_for(site_seed, ordinal, Stream::Record);
    let identity = draw_identity(&mut rng, ordinal);
    let (kind, place) = (identity.kind, identity.place);
    let key = slug.to_ascii_lowercase();

    // Draw every value in a fixed order, then decide what is present, so
    // that forcing a feature never shifts the stream.
    let address = draw_address(&mut rng, kind, place);
    let street = draw_street(&mut rng, kind, place);
    let phone = draw_phone(&mut rng, kind, place);
    let email = draw_email(&mut rng, &key, kind);
    let website = draw_website(&mut rng, &key, kind);
    let description = draw_description(&mut rng);
    let stats = draw_stats(&mut rng);
    let month = MonthTiles {
        results: if chance(&mut rng, 0.4) {
            0
        } else {
            rng.random_range(1..300)
        },
        sessions: if chance(&mut rng, 0.2) {
            0
        } else {
            rng.random_range(1..2500)
        },
        videos: if chance(&mut rng, 0.8) {
            0
        } else {
            rng.random_range(1..300)
        },
    };
    let logo_id = rng.random_range(100..4000u32);
    let logo_date = format!(
        "{}-{:02}-{:02}_{:02}:{:02}:{:02}",
        rng.random_range(2014..2026u32),
        rng.random_range(1..13u32),
        rng.random_range(1..29u32),
        rng.random_range(0..24u32),
        rng.random_range(0..60u32),
        rng.random_range(0..60u32)
    );
    let facebook_group = chance(&mut rng, 0.3);
    let facebook_digits = digits(&mut rng, 15);
    let facebook_feed = chance(&mut rng, 0.4);
    let has = [
        chance(&mut rng, 0.92), // street
        chance(&mut rng, 0.97), // city line
        chance(&mut rng, 0.98), // country
        chance(&mut rng, 0.88), // phone
        chance(&mut rng, 0.80), // website
        chance(&mut rng, 0.85), // email
        chance(&mut rng, 0.45), // description
        chance(&mut rng, 0.70), // logo
        chance(&mut rng, 0.50), // facebook
    ];
    let email_line = chance(&mut rng, 0.5);
    let pretty = chance(&mut rng, 0.25);

    // Forced features of the first ordinals.
    let [
        mut has_street,
        mut has_city,
        mut has_country,
        mut has_phone,
        mut has_website,
        mut has_email,
        mut has_description,
        mut has_logo,
        mut has_facebook,
    ] = has;
    let mut email_line = email_line;
    let mut pretty = pretty;
    let mut facebook_feed = facebook_feed;
    match ordinal {
        0 => {
            [
                has_street,
                has_city,
                has_country,
                has_phone,
                has_website,
                has_email,
            ] = [true; 6];
            [
                has_description,
                has_logo,
                has_facebook,
                facebook_feed,
                pretty,
            ] = [true; 5];
        }
        1 => {
            [
                has_street,
                has_city,
                has_country,
                has_phone,
                has_website,
                has_email,
            ] = [true; 6];
            [has_logo, has_facebook] = [true; 2];
            [facebook_feed, pretty] = [false; 2];
        }
        3 => {
            [has_street, has_city, has_country, has_website, has_email] = [true; 5];
            [has_phone, has_description, has_logo, has_facebook, pretty] = [false; 5];
        }
        4..=7 => [has_street, has_city, has_country] = [true; 3],
        8 => {
            [has_city, has_country] = [true; 2];
            [has_street, has_email, email_line] = [false; 3];
        }
        9 => {
            [has_street, has_city, has_country] = [true; 3];
            [has_website, has_email, has_description, has_logo] = [false; 4];
            email_line = true;
        }
        10 => [has_city, has_street] = [false, true],
        11 => [has_country, has_city, has_street] = [false, true, true],
        12 => [has_street, has_city, has_country] = [false, false, true],
        _ => {}
    }

    let (city, state, postal_code) = if has_city {
        (Some(address.city), address.state, Some(address.postal))
    } else {
        (None, None, None)
    };
    let logo_stem: String = key.chars().take(10).collect();
    TrackRecord {
        slug: slug.to_owned(),
        name: identity.name,
        address_kind: kind,
        street: has_street.then_some(street),
        city,
        state,
        postal_code,
        country: has_country.then(|| address.country.to_owned()),
        country_code: has_country.then(|| address.code.to_owned()),
        phone: has_phone.then_some(phone),
        website: has_website.then_some(website),
        email: has_email.then_some(email),
        email_line: has_email || email_line,
        description: has_description.then_some(description),
        logo_url: has_logo.then(|| {
            format!(
                "https://assets.livetimescoring.com/track_logos/{logo_id}/{logo_stem}_logo.png?dt={logo_date}"
            )
        }),
        facebook_url: has_facebook.then(|| {
            if facebook_group {
                format!("https://www.facebook.com/groups/{facebook_digits}/")
            } else {
                format!("http://www.facebook.com/{key}/")
            }
        }),
        facebook_style: if facebook_feed {
            FacebookStyle::Feed
        } else {
            FacebookStyle::Page
        },
        stats,
        month,
        listing: listing(site_seed, ordinal),
        markup: if pretty {
            MarkupStyle::Pretty
        } else {
            MarkupStyle::Raw
        },
    }
}

/// The index of a record's place in its kind's table (matched by city, then
/// by state or country code), for drawing new values that fit the place.
pub(crate) fn place_of(rec: &TrackRecord) -> usize {
    let city = rec.city.as_deref();
    let state = rec.state.as_deref();
    let code = rec.country_code.as_deref();
    let found = match rec.address_kind {
        AddressKind::Us | AddressKind::UsZipPlus4 => US_PLACES
            .iter()
            .position(|p| Some(p.0) == city)
            .or_else(|| US_PLACES.iter().position(|p| Some(p.1) == state)),
        AddressKind::AuPlain | AddressKind::AuState | AddressKind::AuZeroPadded => {
            AU_PLACES.iter().position(|p| Some(p.0) == city)
        }
        AddressKind::Uk => UK_PLACES.iter().position(|p| Some(p.0) == city),
        AddressKind::Ca => CA_PLACES
            .iter()
            .position(|p| Some(p.0) == city)
            .or_else(|| CA_PLACES.iter().position(|p| Some(p.1) == state)),
        AddressKind::Other => OTHER_PLACES
            .iter()
            .position(|p| Some(p.city) == city)
            .or_else(|| OTHER_PLACES.iter().position(|p| Some(p.code) == code)),
    };
    found.unwrap_or(0)
}

/// A street for `rec`'s place, different from its current one.
pub(crate) fn new_street(rng: &mut StdRng, rec: &TrackRecord) -> String {
    let place = place_of(rec);
    loop {
        let street = draw_street(rng, rec.address_kind, place);
        if rec.street.as_deref() != Some(street.as_str()) {
            return street;
        }
    }
}

/// A phone number for `rec`'s place.
pub(crate) fn new_phone(rng: &mut StdRng, rec: &TrackRecord) -> String {
    draw_phone(rng, rec.address_kind, place_of(rec))
}

/// One generated track: its ordinal, slug and age (for the catalogue order).
pub(crate) struct Generated {
    pub(crate) ordinal: u32,
    pub(crate) slug: Box<str>,
    pub(crate) age_minutes: u64,
}

/// Generates tracks `first..first + count`, registering their slugs in
/// `taken`, in ordinal order.
pub(crate) fn generate(
    site_seed: u64,
    first: u32,
    count: u32,
    taken: &mut HashSet<u64>,
) -> Vec<Generated> {
    (first..first.saturating_add(count))
        .map(|ordinal| {
            let identity = identity(site_seed, ordinal);
            let slug = unique_slug(ordinal, &identity, ordinal == MIXED_CASE_ORDINAL, taken);
            let age_minutes = liveness(site_seed, ordinal).1;
            Generated {
                ordinal,
                slug: slug.into_boxed_str(),
                age_minutes,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_texts_match_the_real_catalogue() {
        assert_eq!(relative_text(1), "1 minute ago");
        assert_eq!(relative_text(5), "5 minutes ago");
        assert_eq!(relative_text(61), "1 hour ago");
        assert_eq!(relative_text(3 * 60), "3 hours ago");
        assert_eq!(relative_text(30 * 60), "Yesterday");
        assert_eq!(relative_text(3 * 24 * 60), "3 days ago");
        assert_eq!(relative_text(8 * 24 * 60), "last week");
        assert_eq!(relative_text(15 * 24 * 60), "2 weeks ago");
        assert_eq!(relative_text(40 * 24 * 60), "last month");
        assert_eq!(relative_text(70 * 24 * 60), "2 months ago");
        assert_eq!(relative_text(400 * 24 * 60), "last year");
    }

    #[test]
    fn slugs_are_dns_labels_and_unique() {
        let mut taken = HashSet::new();
        let tracks = generate(9, 0, 3000, &mut taken);
        let lower: HashSet<String> = tracks.iter().map(|t| t.slug.to_ascii_lowercase()).collect();
        assert_eq!(lower.len(), 3000);
        assert_eq!(taken.len(), 3000);
        for t in &tracks {
            assert!(!t.slug.is_empty() && t.slug.len() <= 63, "{}", t.slug);
            assert!(
                t.slug.bytes().all(|b| b.is_ascii_alphanumeric()),
                "{}",
                t.slug
            );
            assert!(!RESERVED_SLUGS.contains(&t.slug.to_ascii_lowercase().as_str()));
        }
        let mixed = &tracks[MIXED_CASE_ORDINAL as usize].slug;
        assert_ne!(mixed.to_ascii_lowercase(), mixed.as_ref());
        assert_eq!(
            tracks
                .iter()
                .filter(|t| t.slug.to_ascii_lowercase() != t.slug.as_ref())
                .count(),
            1
        );
    }

    #[test]
    fn record_name_matches_the_cheap_name() {
        for ordinal in 0..200 {
            let name = name(5, ordinal);
            assert_eq!(record(5, ordinal, "x").name, name);
        }
    }

    #[test]
    fn forced_ordinals_have_their_features() {
        let r = |o| record(1, o, "slug");
        assert_eq!(r(3).phone, None);
        assert_eq!(r(3).address_kind, AddressKind::AuZeroPadded);
        assert!(
            r(3).postal_code
                .as_deref()
                .is_some_and(|p| p.starts_with('0'))
        );
        assert!(r(4).name.contains('\''));
        assert!(r(5).name.contains('é'));
        assert!(r(6).name.contains('&'));
        assert_eq!(r(8).street, None);
        assert!(!r(8).email_line);
        assert_eq!(r(10).city_line(), None);
        assert_eq!(r(11).country, None);
        assert_eq!(r(12).map_query(), None);
        assert!(r(0).listing.live && r(0).racing_now());
        assert_eq!(r(0).markup, MarkupStyle::Pretty);
    }

    /// The ISO code of a record's country, printed or not.
    fn home_country(site_seed: u64, ordinal: u32) -> &'static str {
        let id = identity(site_seed, ordinal);
        match id.kind {
            AddressKind::Us | AddressKind::UsZipPlus4 => "US",
            AddressKind::AuPlain | AddressKind::AuState | AddressKind::AuZeroPadded => "AU",
            AddressKind::Uk => "GB",
            AddressKind::Ca => "CA",
            AddressKind::Other => OTHER_PLACES[id.place].code,
        }
    }

    /// Why `phone` is not a valid number of `country`, if it is not.
    fn phone_problem(phone: &str, country: &str) -> Option<String> {
        let region: phonenumber::country::Id = match country.parse() {
            Ok(region) => region,
            Err(_) => return Some(format!("{country} is not a region")),
        };
        let number = match phonenumber::parse(Some(region), phone) {
            Ok(number) => number,
            Err(error) => return Some(format!("does not parse: {error}")),
        };
        if !phonenumber::is_valid(&number) {
            return Some("not valid".to_owned());
        }
        let found = number.country().id();
        (found != Some(region)).then(|| format!("valid, but for {found:?}"))
    }

    #[test]
    fn every_place_draws_valid_phone_numbers() {
        let mut rng = rng_from(11, 5);
        let mut problems = Vec::new();
        let mut check = |kind: AddressKind, place: usize, country: &str| {
            for _ in 0..300 {
                let phone = draw_phone(&mut rng, kind, place);
                if let Some(problem) = phone_problem(&phone, country) {
                    problems.push(format!("{country} {phone:?}: {problem}"));
                }
            }
        };
        for place in 0..US_PLACES.len() {
            check(AddressKind::Us, place, "US");
        }
        for place in 0..AU_PLACES.len() {
            check(AddressKind::AuState, place, "AU");
        }
        for place in 0..UK_PLACES.len() {
            check(AddressKind::Uk, place, "GB");
        }
        for place in 0..CA_PLACES.len() {
            check(AddressKind::Ca, place, "CA");
        }
        for (place, p) in OTHER_PLACES.iter().enumerate() {
            check(AddressKind::Other, place, p.code);
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn phones_print_in_national_and_international_forms() {
        let mut rng = rng_from(3, 9);
        let phones: Vec<String> = (0..400)
            .map(|_| draw_phone(&mut rng, AddressKind::AuPlain, 0))
            .collect();
        assert!(phones.iter().any(|p| p.starts_with("+61 4")));
        assert!(phones.iter().any(|p| p.starts_with("+61 2 62")));
        assert!(phones.iter().any(|p| p.starts_with("(02) 62")));
        assert!(phones.iter().any(|p| p.starts_with("04")));
        assert_eq!(international("64", "09 123 4567"), "+64 9 123 4567");
        assert_eq!(international("61", "(02) 6212 3456"), "+61 2 6212 3456");
        // North American exchanges: never N11 nor 555.
        let mut rng = rng_from(4, 2);
        for _ in 0..2_000 {
            let local = fill_digits(&mut rng, "X");
            let code: u32 = local.parse().expect("three digits");
            assert!((200..1000).contains(&code) && code % 100 != 11 && code != 555);
        }
    }

    #[test]
    fn a_site_of_1090_tracks_has_valid_phones_emails_and_websites() {
        let mut taken = HashSet::new();
        let mut problems = Vec::new();
        let mut phones = 0;
        for generated in generate(42, 0, 1_090, &mut taken) {
            let rec = record(42, generated.ordinal, &generated.slug);
            let country = home_country(42, generated.ordinal);
            if let Some(code) = &rec.country_code {
                assert_eq!(code, country);
            }
            if let Some(phone) = &rec.phone {
                phones += 1;
                if let Some(problem) = phone_problem(phone, country) {
                    problems.push(format!("{} {country} {phone:?}: {problem}", rec.slug));
                }
            }
            if let Some(email) = &rec.email {
                let valid = email.split_once('@').is_some_and(|(local, domain)| {
                    !local.is_empty()
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                        && !domain.contains('@')
                        && email
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"@.-_+".contains(&b))
                });
                if !valid {
                    problems.push(format!("{} e-mail {email:?}", rec.slug));
                }
            }
            if let Some(site) = &rec.website {
                let valid = reqwest::Url::parse(site).is_ok_and(|url| {
                    matches!(url.scheme(), "http" | "https")
                        && url.host_str().is_some_and(|host| host.contains('.'))
                });
                if !valid {
                    problems.push(format!("{} website {site:?}", rec.slug));
                }
            }
        }
        assert!(phones > 900, "{phones}");
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn most_streets_carry_a_house_number() {
        let mut rng = rng_from(8, 1);
        let kinds = [
            (AddressKind::Us, US_PLACES.len()),
            (AddressKind::AuPlain, AU_PLACES.len()),
            (AddressKind::Uk, UK_PLACES.len()),
            (AddressKind::Ca, CA_PLACES.len()),
            (AddressKind::Other, OTHER_PLACES.len()),
        ];
        for (kind, places) in kinds {
            let streets: Vec<String> = (0..2_000)
                .map(|i| draw_street(&mut rng, kind, i % places))
                .collect();
            let numbered = streets
                .iter()
                .filter(|s| {
                    s.split_whitespace()
                        .any(|w| w.bytes().any(|b| b.is_ascii_digit()))
                })
                .count();
            let share = numbered as f64 / streets.len() as f64;
            assert!(share >= 0.85, "{kind:?}: {share}");
        }
    }

    #[test]
    fn city_lines_follow_each_format() {
        let line = |o| record(1, o, "slug").city_line().unwrap_or_default();
        assert!(line(0).contains(", "), "{}", line(0));
        assert!(!line(1).contains(','), "{}", line(1));
        let au_state = record(1, 2, "slug");
        assert_eq!(
            line(2),
            format!(
                "{} {} {}",
                au_state.city.as_deref().unwrap_or(""),
                au_state.state.as_deref().unwrap_or(""),
                au_state.postal_code.as_deref().unwrap_or("")
            )
        );
        assert!(
            record(1, 4, "slug")
                .postal_code
                .is_some_and(|p| p.contains(' '))
        );
    }
}
