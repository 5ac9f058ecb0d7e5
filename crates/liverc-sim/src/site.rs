//! The simulated site's state and the cloneable [`SiteHandle`] over it:
//! tracks in catalogue order, pages rendered on request, validators,
//! mutations with an exact [`MutationLog`], faults and latency settings.
//!
//! A track is stored as a slot of a few dozen bytes (slug, ordinal,
//! modification time); its record is drawn again from the seed whenever a
//! page needs it, and stored in full only once a mutation has changed it.
//! The state sits behind `RwLock<Arc<_>>`: a request clones the `Arc` and
//! renders from that snapshot without holding the lock (a streamed
//! catalogue stays consistent), a mutation copies the state on write.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::RngExt;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use crate::SimError;
use crate::config::{Fault, FaultConfig, SimConfig};
use crate::faults::{FaultState, Target};
use crate::generate;
use crate::model::{
    FieldChange, Listing, MutationLog, Rename, StatusIcon, TrackField, TrackPatch, TrackRecord,
};
use crate::render;
use crate::stats::{SimStats, Stats};

/// Catalogue rows rendered per streamed chunk.
const ROWS_PER_CHUNK: usize = 256;

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn system_time(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

fn content_hash(parts: &[&[u8]]) -> String {
    let mut hasher = std::hash::DefaultHasher::new();
    for part in parts {
        part.hash(&mut hasher);
    }
    format!("\"{:016x}\"", hasher.finish())
}

/// A rendered page with its validators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedPage {
    /// The HTML.
    pub body: String,
    /// Strong ETag, quoted: a hash of the body (dashboards), or of the seed
    /// and the history of catalogue-visible changes (catalogue, which is
    /// streamed and so not hashed whole).
    pub etag: String,
    /// Last-Modified (whole seconds).
    pub last_modified: SystemTime,
}

#[derive(Debug, Clone)]
struct Slot {
    /// As the catalogue prints it (may be mixed case).
    slug: Box<str>,
    ordinal: u32,
    /// Last-Modified of the dashboard, unix seconds.
    modified: i64,
    /// The full record, once a mutation changed the generated one.
    record: Option<Arc<TrackRecord>>,
}

/// A consistent snapshot of the site.
#[derive(Debug, Clone)]
pub(crate) struct SiteState {
    seed: u64,
    slots: Vec<Slot>,
    /// Hash of the lowercase slug → position in `slots`.
    index: HashMap<u64, u32>,
    /// Hashes of every slug ever used (removed slugs are not reused).
    taken: HashSet<u64>,
    next_ordinal: u32,
    /// A digest of every catalogue-visible change so far (0: as generated).
    catalogue_digest: u64,
    catalogue_modified: i64,
    truncate: Option<usize>,
    decoys: bool,
}

impl SiteState {
    fn generate(config: &SimConfig, now: i64) -> Self {
        let count = u32::try_from(config.tracks).unwrap_or(u32::MAX);
        let mut taken = HashSet::with_capacity(config.tracks);
        let mut generated = generate::generate(config.seed, 0, count, &mut taken);
        // The real catalogue lists the most recently updated tracks first.
        generated.sort_by_key(|g| g.age_minutes);
        let slots = generated
            .into_iter()
            .map(|g| Slot {
                modified: initial_modified(config.seed, g.ordinal, now),
                slug: g.slug,
                ordinal: g.ordinal,
                record: None,
            })
            .collect();
        let mut state = Self {
            seed: config.seed,
            slots,
            index: HashMap::new(),
            taken,
            next_ordinal: count,
            catalogue_digest: 0,
            catalogue_modified: now - 60,
            truncate: None,
            decoys: config.decoy_rows,
        };
        state.rebuild_index();
        state
    }

    fn rebuild_index(&mut self) {
        self.index = self
            .slots
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let pos = u32::try_from(i).unwrap_or(u32::MAX);
                (generate::slug_hash(&s.slug.to_ascii_lowercase()), pos)
            })
            .collect();
    }

    fn position(&self, slug: &str) -> Option<usize> {
        let key = slug.to_ascii_lowercase();
        let pos = *self.index.get(&generate::slug_hash(&key))? as usize;
        self.slots
            .get(pos)
            .filter(|s| s.slug.eq_ignore_ascii_case(&key))
            .map(|_| pos)
    }

    fn require(&self, slug: &str) -> Result<usize, SimError> {
        self.position(slug)
            .ok_or_else(|| SimError::UnknownTrack(slug.to_owned()))
    }

    fn record_at(&self, pos: usize) -> Option<Arc<TrackRecord>> {
        let slot = self.slots.get(pos)?;
        Some(match &slot.record {
            Some(record) => Arc::clone(record),
            None => Arc::new(generate::record(self.seed, slot.ordinal, &slot.slug)),
        })
    }

    fn row_at(&self, pos: usize) -> Option<(Cow<'_, str>, Cow<'_, Listing>)> {
        let slot = self.slots.get(pos)?;
        Some(match &slot.record {
            Some(record) => (
                Cow::Borrowed(record.name.as_str()),
                Cow::Borrowed(&record.listing),
            ),
            None => (
                Cow::Owned(generate::name(self.seed, slot.ordinal)),
                Cow::Owned(generate::listing(self.seed, slot.ordinal)),
            ),
        })
    }

    fn served_len(&self) -> usize {
        self.truncate
            .map_or(self.slots.len(), |n| n.min(self.slots.len()))
    }

    /// Where the decoy rows go: decoy `i` precedes served row `p[i]`
    /// (`p[i] == served` puts it after the last row).
    fn decoy_positions(&self) -> Vec<usize> {
        if !self.decoys {
            return Vec::new();
        }
        let served = self.served_len();
        vec![2.min(served), served / 2, served.saturating_sub(1)]
    }

    fn render_rows(&self, from: usize, to: usize, out: &mut String) {
        let served = self.served_len();
        let decoys = self.decoy_positions();
        for pos in from..to.min(served + 1) {
            for (i, _) in decoys.iter().enumerate().filter(|(_, p)| **p == pos) {
                if let Some(decoy) = render::DECOYS.get(i) {
                    render::decoy_row(out, decoy);
                }
            }
            if pos < served
                && let (Some(slot), Some((name, listing))) = (self.slots.get(pos), self.row_at(pos))
            {
                render::catalogue_row(
                    out,
                    &render::Row {
                        slug: &slot.slug,
                        name: &name,
                        listing: &listing,
                    },
                );
            }
        }
    }

    /// The whole catalogue page.
    pub(crate) fn render_catalogue(&self) -> String {
        let mut out = String::with_capacity(8 * 1024 + self.served_len() * 700);
        render::catalogue_head(&mut out);
        self.render_rows(0, self.served_len() + 1, &mut out);
        render::catalogue_tail(&mut out);
        out
    }

    /// The catalogue page without any track row (a malformed page).
    pub(crate) fn render_empty_catalogue(&self) -> String {
        let mut out = String::new();
        render::catalogue_head(&mut out);
        render::catalogue_tail(&mut out);
        out
    }

    /// How many chunks the streamed catalogue has (see
    /// [`SiteState::catalogue_chunk`]).
    pub(crate) fn catalogue_chunk_count(&self) -> usize {
        (self.served_len() + 1).div_ceil(ROWS_PER_CHUNK) + 1
    }

    /// Chunk `i` of the streamed catalogue: 0 is the page head, then up to
    /// [`ROWS_PER_CHUNK`] rows each (decoys included), the last one ending
    /// with the page tail.
    pub(crate) fn catalogue_chunk(&self, i: usize) -> String {
        let mut out = String::with_capacity(ROWS_PER_CHUNK * 800);
        if i == 0 {
            render::catalogue_head(&mut out);
            return out;
        }
        let from = (i - 1) * ROWS_PER_CHUNK;
        self.render_rows(from, from + ROWS_PER_CHUNK, &mut out);
        if i + 1 == self.catalogue_chunk_count() {
            render::catalogue_tail(&mut out);
        }
        out
    }

    pub(crate) fn catalogue_etag(&self) -> String {
        let truncate = self.truncate.map_or(u64::MAX, |n| n as u64);
        content_hash(&[
            b"catalogue",
            &self.seed.to_le_bytes(),
            &self.catalogue_digest.to_le_bytes(),
            &truncate.to_le_bytes(),
            &[u8::from(self.decoys)],
        ])
    }

    pub(crate) fn catalogue_modified(&self) -> SystemTime {
        system_time(self.catalogue_modified)
    }

    pub(crate) fn dashboard(&self, slug: &str) -> Option<RenderedPage> {
        let pos = self.position(slug)?;
        let record = self.record_at(pos)?;
        let body = render::dashboard(&record);
        let etag = content_hash(&[body.as_bytes()]);
        let modified = self.slots.get(pos).map_or(0, |s| s.modified);
        Some(RenderedPage {
            body,
            etag,
            last_modified: system_time(modified),
        })
    }

    /// Records a catalogue-visible change: folds it into the digest the
    /// catalogue's ETag is made from, and moves its Last-Modified.
    fn bump_catalogue(&mut self, now: i64, change: &impl Hash) {
        let mut hasher = std::hash::DefaultHasher::new();
        self.catalogue_digest.hash(&mut hasher);
        change.hash(&mut hasher);
        self.catalogue_digest = hasher.finish();
        self.catalogue_modified = now.max(self.catalogue_modified + 1);
    }

    // -- mutations ----------------------------------------------------------

    fn add(&mut self, count: u32, now: i64, log: &mut MutationLog) {
        if count == 0 {
            return;
        }
        let generated = generate::generate(self.seed, self.next_ordinal, count, &mut self.taken);
        self.next_ordinal = self.next_ordinal.saturating_add(count);
        let first = log.added.len();
        for g in generated {
            log.added.push(g.slug.to_ascii_lowercase());
            let pos = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
            self.index
                .insert(generate::slug_hash(&g.slug.to_ascii_lowercase()), pos);
            self.slots.push(Slot {
                slug: g.slug,
                ordinal: g.ordinal,
                modified: now,
                record: None,
            });
        }
        self.bump_catalogue(now, &("add", &log.added[first..]));
    }

    fn remove_all(
        &mut self,
        slugs: &[String],
        now: i64,
        log: &mut MutationLog,
    ) -> Result<(), SimError> {
        if slugs.is_empty() {
            return Ok(());
        }
        let mut doomed = HashSet::new();
        let first = log.removed.len();
        for slug in slugs {
            let pos = self.require(slug)?;
            if doomed.insert(pos) {
                log.removed.push(slug.to_ascii_lowercase());
            }
        }
        let removed = log.removed[first..].to_vec();
        let mut pos = 0;
        self.slots.retain(|_| {
            let keep = !doomed.contains(&pos);
            pos += 1;
            keep
        });
        self.rebuild_index();
        self.bump_catalogue(now, &("remove", removed));
        Ok(())
    }

    /// Replaces the record at `pos`, logging every field that changed and
    /// bumping the validators the change is visible in.
    fn replace(&mut self, pos: usize, new: TrackRecord, now: i64, log: &mut MutationLog) {
        let Some(old) = self.record_at(pos) else {
            return;
        };
        let key = old.key();
        let (mut dashboard, mut catalogue) = (false, false);
        for field in TrackField::ALL {
            let (before, after) = (old.field(field), new.field(field));
            if before == after {
                continue;
            }
            dashboard |= !field.catalogue_only();
            catalogue |= field.on_catalogue();
            if field == TrackField::Name {
                log.renamed.push(Rename {
                    slug: key.clone(),
                    old: before.unwrap_or_default(),
                    new: after.unwrap_or_default(),
                });
            } else {
                log.changed.push(FieldChange {
                    slug: key.clone(),
                    field,
                    old: before,
                    new: after,
                });
            }
        }
        if !dashboard && !catalogue && *old == new {
            return;
        }
        if catalogue {
            self.bump_catalogue(now, &("row", &key, &new.name, &new.listing));
        }
        if let Some(slot) = self.slots.get_mut(pos) {
            if dashboard {
                slot.modified = now.max(slot.modified + 1);
            }
            slot.record = Some(Arc::new(new));
        }
    }

    fn update(
        &mut self,
        slug: &str,
        patch: &TrackPatch,
        now: i64,
        log: &mut MutationLog,
    ) -> Result<(), SimError> {
        let pos = self.require(slug)?;
        let mut record = self
            .record_at(pos)
            .map(|r| (*r).clone())
            .ok_or_else(|| SimError::UnknownTrack(slug.to_owned()))?;
        apply_patch(&mut record, patch)?;
        self.replace(pos, record, now, log);
        Ok(())
    }

    fn mutate_random(&mut self, seed: u64, count: usize, now: i64, log: &mut MutationLog) {
        let mut rng = generate::rng_from(seed, 0x6D75_7461_7465);
        let mut touched: HashSet<String> = HashSet::new();
        for _ in 0..count {
            let roll = rng.random_range(0..100u32);
            let target = if roll < 12 {
                None
            } else {
                self.pick_untouched(&mut rng, &touched)
            };
            let Some(pos) = target else {
                let before = log.added.len();
                self.add(1, now, log);
                touched.extend(log.added[before..].iter().cloned());
                continue;
            };
            let Some(record) = self.record_at(pos) else {
                continue;
            };
            let key = record.key();
            touched.insert(key.clone());
            match roll {
                12..=23 => {
                    let _ = self.remove_all(&[key], now, log);
                }
                24..=35 => {
                    let mut new = (*record).clone();
                    new.name = generate::new_name(&mut rng, &record.name);
                    self.replace(pos, new, now, log);
                }
                _ => {
                    let new = random_field_change(&mut rng, &record);
                    self.replace(pos, new, now, log);
                }
            }
        }
    }

    fn pick_untouched(&self, rng: &mut StdRng, touched: &HashSet<String>) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let untouched = |pos: &usize| {
            self.slots
                .get(*pos)
                .is_some_and(|s| !touched.contains(&s.slug.to_ascii_lowercase()))
        };
        for _ in 0..32 {
            let pos = rng.random_range(0..self.slots.len());
            if untouched(&pos) {
                return Some(pos);
            }
        }
        (0..self.slots.len()).find(untouched)
    }
}

fn initial_modified(seed: u64, ordinal: u32, now: i64) -> i64 {
    const DAY: u64 = 86_400;
    let offset = DAY + generate::mix(seed ^ u64::from(ordinal).rotate_left(32)) % (400 * DAY);
    now - i64::try_from(offset).unwrap_or(0)
}

/// Applies a patch to a record, refusing values the page cannot show.
fn apply_patch(rec: &mut TrackRecord, patch: &TrackPatch) -> Result<(), SimError> {
    fn opt(value: &Option<Option<String>>, target: &mut Option<String>) {
        if let Some(value) = value {
            *target = value.clone().filter(|v| !v.trim().is_empty());
        }
    }
    if let Some(name) = &patch.name {
        if name.trim().is_empty() {
            return Err(SimError::Invalid("a track name cannot be empty".to_owned()));
        }
        rec.name = name.clone();
    }
    if let Some(Some(email)) = &patch.email
        && !email.contains('@')
    {
        return Err(SimError::Invalid(format!(
            "{email:?} is not an e-mail address"
        )));
    }
    opt(&patch.street, &mut rec.street);
    opt(&patch.city, &mut rec.city);
    opt(&patch.state, &mut rec.state);
    opt(&patch.postal_code, &mut rec.postal_code);
    opt(&patch.country, &mut rec.country);
    opt(&patch.country_code, &mut rec.country_code);
    opt(&patch.phone, &mut rec.phone);
    opt(&patch.website, &mut rec.website);
    opt(&patch.email, &mut rec.email);
    opt(&patch.description, &mut rec.description);
    opt(&patch.logo_url, &mut rec.logo_url);
    opt(&patch.facebook_url, &mut rec.facebook_url);
    opt(&patch.current_event, &mut rec.listing.current_event);
    let stats = &mut rec.stats;
    for (value, target) in [
        (patch.total_laps, &mut stats.laps),
        (patch.total_practice_sessions, &mut stats.practice_sessions),
        (patch.total_races, &mut stats.races),
        (patch.total_entries, &mut stats.entries),
        (patch.total_events, &mut stats.events),
    ] {
        if let Some(value) = value {
            *target = value;
        }
    }
    if let Some(text) = &patch.last_updated_text {
        if text.trim().is_empty() {
            return Err(SimError::Invalid(
                "last_updated_text cannot be empty".to_owned(),
            ));
        }
        rec.listing.last_updated_text = text.clone();
    }
    if let Some(live) = patch.is_live {
        rec.listing.live = live;
        rec.listing.status = match (live, rec.listing.status) {
            (false, _) => StatusIcon::Idle,
            (true, StatusIcon::Idle) => StatusIcon::Racing,
            (true, status) => status,
        };
    }
    Ok(())
}

/// A copy of `rec` with one kind of field change a real site sees.
fn random_field_change(rng: &mut StdRng, rec: &TrackRecord) -> TrackRecord {
    let mut new = rec.clone();
    let key = rec.key();
    match rng.random_range(0..8u32) {
        0 => {
            new.phone = match &rec.phone {
                Some(_) if rng.random_bool(0.2) => None,
                _ => loop {
                    let phone = generate::new_phone(rng, rec);
                    if rec.phone.as_deref() != Some(phone.as_str()) {
                        break Some(phone);
                    }
                },
            }
        }
        1 => {
            new.email = match &rec.email {
                Some(_) if rng.random_bool(0.25) => None,
                _ => loop {
                    let email = generate::draw_email(rng, &key, rec.address_kind);
                    if rec.email.as_deref() != Some(email.as_str()) {
                        break Some(email);
                    }
                },
            };
            new.email_line = true;
        }
        2 => {
            new.website = match &rec.website {
                Some(_) if rng.random_bool(0.25) => None,
                _ => loop {
                    let site = generate::draw_website(rng, &key, rec.address_kind);
                    if rec.website.as_deref() != Some(site.as_str()) {
                        break Some(site);
                    }
                },
            }
        }
        3 => new.street = Some(generate::new_street(rng, rec)),
        4 => {
            new.description = match &rec.description {
                Some(_) if rng.random_bool(0.3) => None,
                _ => loop {
                    let text = generate::draw_description(rng);
                    if rec.description.as_deref() != Some(text.as_str()) {
                        break Some(text);
                    }
                },
            }
        }
        5 => {
            let s = &mut new.stats;
            s.events += rng.random_range(0..3);
            s.races += rng.random_range(0..40);
            s.entries += rng.random_range(0..80);
            s.practice_sessions += rng.random_range(0..200);
            s.laps += rng.random_range(1..20_000);
        }
        6 => loop {
            let text = generate::relative_text(rng.random_range(1..500_000));
            if text != rec.listing.last_updated_text {
                new.listing.last_updated_text = text;
                break;
            }
        },
        _ => loop {
            let event = generate::draw_event(rng);
            if rec.listing.current_event.as_deref() != Some(event.as_str()) {
                new.listing.current_event = Some(event);
                break;
            }
        },
    }
    new
}

/// A batch of mutations, applied atomically in this order: `set`, `rename`,
/// `remove`, `add`, `random`, `truncate_catalogue`. Every slug is checked
/// before anything changes. The admin route `POST /__sim/mutate` takes it
/// as JSON:
/// `{"add": 3, "remove": ["slug"], "rename": {"slug": "New Name"},
///   "set": {"slug": {"phone": "…", "email": null}},
///   "random": {"seed": 7, "count": 10}, "truncate_catalogue": 500}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MutationRequest {
    /// Tracks to add.
    pub add: usize,
    /// Slugs to remove.
    pub remove: Vec<String>,
    /// Slug → new name.
    pub rename: BTreeMap<String, String>,
    /// Slug → field changes.
    pub set: BTreeMap<String, TrackPatch>,
    /// A random batch of changes.
    pub random: Option<RandomMutation>,
    /// Absent: leave alone; `null`: serve every row; `n`: serve the first
    /// `n` rows only.
    #[serde(
        default,
        deserialize_with = "present_usize",
        skip_serializing_if = "Option::is_none"
    )]
    pub truncate_catalogue: Option<Option<usize>>,
}

fn present_usize<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<usize>>, D::Error> {
    Option::<usize>::deserialize(d).map(Some)
}

/// Parameters of [`SiteHandle::mutate_random`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RandomMutation {
    /// Seed of the choices.
    pub seed: u64,
    /// Number of operations (each touches a different track).
    pub count: usize,
}

#[derive(Debug)]
struct SiteInner {
    state: RwLock<Arc<SiteState>>,
    faults: Mutex<FaultState>,
    stats: Arc<Stats>,
    latency_us: AtomicU64,
    jitter_us: AtomicU64,
    robots: RwLock<Option<Arc<str>>>,
    malformed_served: AtomicU64,
}

/// A cloneable handle on a simulated site: read its tracks, render its
/// pages, mutate it, steer its faults and latency, read what it saw. The
/// server holds one; [`crate::RunningSim::site`] hands out clones.
#[derive(Debug, Clone)]
pub struct SiteHandle {
    inner: Arc<SiteInner>,
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl SiteHandle {
    /// Generates a site (no server: see [`crate::Simulator::start`]).
    pub fn new(config: &SimConfig) -> Self {
        let state = SiteState::generate(config, unix_now());
        Self {
            inner: Arc::new(SiteInner {
                state: RwLock::new(Arc::new(state)),
                faults: Mutex::new(FaultState::new(config.faults.clone())),
                stats: Arc::new(Stats::default()),
                latency_us: AtomicU64::new(micros(config.latency)),
                jitter_us: AtomicU64::new(micros(config.jitter)),
                robots: RwLock::new(config.robots_txt.as_deref().map(Arc::from)),
                malformed_served: AtomicU64::new(0),
            }),
        }
    }

    pub(crate) fn snapshot(&self) -> Arc<SiteState> {
        Arc::clone(
            &self
                .inner
                .state
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    fn mutate<R>(&self, f: impl FnOnce(&mut SiteState, i64) -> R) -> R {
        let mut guard = self
            .inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        f(Arc::make_mut(&mut guard), unix_now())
    }

    fn faults<R>(&self, f: impl FnOnce(&mut FaultState) -> R) -> R {
        f(&mut self
            .inner
            .faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner))
    }

    pub(crate) fn stats_counters(&self) -> &Arc<Stats> {
        &self.inner.stats
    }

    // -- reading ------------------------------------------------------------

    /// Number of tracks (including any hidden by catalogue truncation).
    pub fn len(&self) -> usize {
        self.snapshot().slots.len()
    }

    /// Whether the site has no track.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every track's slug as printed, in catalogue order.
    pub fn slugs(&self) -> Vec<String> {
        self.snapshot()
            .slots
            .iter()
            .map(|s| s.slug.to_string())
            .collect()
    }

    /// Every track's full record, in catalogue order (including tracks a
    /// truncated catalogue hides). Draws each record: for 100,000 tracks
    /// this allocates the whole site at once.
    pub fn tracks(&self) -> Vec<TrackRecord> {
        let state = self.snapshot();
        (0..state.slots.len())
            .filter_map(|pos| state.record_at(pos).map(|r| (*r).clone()))
            .collect()
    }

    /// One track's record (slug in any case).
    pub fn track(&self, slug: &str) -> Option<TrackRecord> {
        let state = self.snapshot();
        state
            .position(slug)
            .and_then(|pos| state.record_at(pos))
            .map(|r| (*r).clone())
    }

    /// Slugs of the tracks the catalogue currently lists (all of them unless
    /// truncated), lowercased, in order.
    pub fn catalogue_slugs(&self) -> Vec<String> {
        let state = self.snapshot();
        state.slots[..state.served_len()]
            .iter()
            .map(|s| s.slug.to_ascii_lowercase())
            .collect()
    }

    /// The `data-href`s of the rows the parser must skip (empty when
    /// [`SimConfig::decoy_rows`] is off), in page order.
    pub fn decoy_hrefs(&self) -> Vec<String> {
        let state = self.snapshot();
        let mut decoys: Vec<(usize, &render::Decoy)> = state
            .decoy_positions()
            .into_iter()
            .zip(render::DECOYS.iter())
            .collect();
        decoys.sort_by_key(|(pos, _)| *pos);
        decoys.into_iter().map(|(_, d)| d.href.to_owned()).collect()
    }

    /// The catalogue page as served (rendered in full).
    pub fn render_catalogue(&self) -> RenderedPage {
        let state = self.snapshot();
        RenderedPage {
            body: state.render_catalogue(),
            etag: state.catalogue_etag(),
            last_modified: state.catalogue_modified(),
        }
    }

    /// A track's dashboard as served, or `None` for an unknown slug.
    pub fn render_dashboard(&self, slug: &str) -> Option<RenderedPage> {
        self.snapshot().dashboard(slug)
    }

    // -- mutations ----------------------------------------------------------

    /// Adds `n` generated tracks at the end of the catalogue.
    pub fn add_tracks(&self, n: usize) -> MutationLog {
        let mut log = MutationLog::default();
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        self.mutate(|s, now| s.add(n, now, &mut log));
        log
    }

    /// Removes a track: its dashboard 404s and it leaves the catalogue.
    pub fn remove(&self, slug: &str) -> Result<MutationLog, SimError> {
        let mut log = MutationLog::default();
        self.mutate(|s, now| s.remove_all(&[slug.to_owned()], now, &mut log))?;
        Ok(log)
    }

    /// Renames a track (its slug stays).
    pub fn rename(&self, slug: &str, name: &str) -> Result<MutationLog, SimError> {
        self.update(
            slug,
            &TrackPatch {
                name: Some(name.to_owned()),
                ..TrackPatch::default()
            },
        )
    }

    /// Changes a track's fields. Only fields whose value really changes are
    /// logged; the dashboard's ETag and Last-Modified move only when a
    /// dashboard-visible field changed, the catalogue's only when a row
    /// field did.
    pub fn update(&self, slug: &str, patch: &TrackPatch) -> Result<MutationLog, SimError> {
        let mut log = MutationLog::default();
        self.mutate(|s, now| s.update(slug, patch, now, &mut log))?;
        Ok(log)
    }

    /// `count` random operations, each on a different track: adds (~12 %),
    /// removals, renames (~12 % each), and field changes (phone, e-mail,
    /// website, street, description, lifetime stats, last-updated text,
    /// current event). Returns exactly what changed.
    pub fn mutate_random(&self, seed: u64, count: usize) -> MutationLog {
        let mut log = MutationLog::default();
        self.mutate(|s, now| s.mutate_random(seed, count, now, &mut log));
        log
    }

    /// Serves only the first `n` catalogue rows (`None`: all). Dashboards of
    /// the hidden tracks are still served.
    pub fn truncate_catalogue(&self, n: Option<usize>) {
        self.mutate(|s, now| {
            if s.truncate != n {
                s.truncate = n;
                s.bump_catalogue(now, &("truncate", n));
            }
        });
    }

    /// Applies a batch atomically (see [`MutationRequest`]): nothing changes
    /// unless every slug it names exists.
    pub fn apply(&self, request: &MutationRequest) -> Result<MutationLog, SimError> {
        let mut log = MutationLog::default();
        self.mutate(|s, now| {
            for slug in request
                .set
                .keys()
                .chain(request.rename.keys())
                .chain(request.remove.iter())
            {
                s.require(slug)?;
            }
            if request.rename.values().any(|n| n.trim().is_empty()) {
                return Err(SimError::Invalid("a track name cannot be empty".to_owned()));
            }
            let mut scratch = s.clone();
            for (slug, patch) in &request.set {
                scratch.update(slug, patch, now, &mut log)?;
            }
            for (slug, name) in &request.rename {
                let patch = TrackPatch {
                    name: Some(name.clone()),
                    ..TrackPatch::default()
                };
                scratch.update(slug, &patch, now, &mut log)?;
            }
            scratch.remove_all(&request.remove, now, &mut log)?;
            scratch.add(
                u32::try_from(request.add).unwrap_or(u32::MAX),
                now,
                &mut log,
            );
            if let Some(random) = request.random {
                scratch.mutate_random(random.seed, random.count, now, &mut log);
            }
            if let Some(n) = request.truncate_catalogue
                && scratch.truncate != n
            {
                scratch.truncate = n;
                scratch.bump_catalogue(now, &("truncate", n));
            }
            *s = scratch;
            Ok(log)
        })
    }

    // -- faults, latency, robots ----------------------------------------------

    /// Replaces the rate-based fault configuration (the draw restarts from
    /// its seed). Targeted faults stay queued.
    pub fn set_faults(&self, config: FaultConfig) {
        self.faults(|f| f.set_config(config));
    }

    /// The rate-based fault configuration.
    pub fn faults_config(&self) -> FaultConfig {
        self.faults(|f| f.config().clone())
    }

    /// Serves `fault` to the next `times` requests for `slug`'s dashboard
    /// (`u32::MAX`: practically forever). Queued faults run in order.
    pub fn inject(&self, slug: &str, fault: Fault, times: u32) {
        self.faults(|f| f.inject(Some(slug), fault, times));
    }

    /// Serves `fault` to the next `times` catalogue requests.
    pub fn inject_catalogue(&self, fault: Fault, times: u32) {
        self.faults(|f| f.inject(None, fault, times));
    }

    /// Drops every queued targeted fault.
    pub fn clear_injected(&self) {
        self.faults(FaultState::clear_injected);
    }

    /// Targeted faults still queued.
    pub fn injected_remaining(&self) -> u64 {
        self.faults(|f| f.injected_remaining())
    }

    pub(crate) fn decide_fault(&self, target: Target<'_>) -> Option<Fault> {
        self.faults(|f| f.decide(target))
    }

    pub(crate) fn next_malformed_variant(&self) -> u64 {
        self.inner.malformed_served.fetch_add(1, Ordering::Relaxed)
    }

    /// Sets the fixed latency and the jitter of every crawl response.
    pub fn set_latency(&self, latency: Duration, jitter: Duration) {
        self.inner
            .latency_us
            .store(micros(latency), Ordering::Relaxed);
        self.inner
            .jitter_us
            .store(micros(jitter), Ordering::Relaxed);
    }

    /// The fixed latency and the jitter.
    pub fn latency(&self) -> (Duration, Duration) {
        (
            Duration::from_micros(self.inner.latency_us.load(Ordering::Relaxed)),
            Duration::from_micros(self.inner.jitter_us.load(Ordering::Relaxed)),
        )
    }

    /// The delay for one response: latency plus a uniform draw of jitter.
    pub(crate) fn sample_delay(&self) -> Duration {
        let (latency, jitter) = self.latency();
        if jitter.is_zero() {
            return latency;
        }
        let extra = rand::rng().random_range(0..=micros(jitter));
        latency + Duration::from_micros(extra)
    }

    /// Sets the robots.txt body (`None`: answer 404).
    pub fn set_robots_txt(&self, body: Option<String>) {
        *self
            .inner
            .robots
            .write()
            .unwrap_or_else(PoisonError::into_inner) = body.map(Arc::from);
    }

    /// The robots.txt body.
    pub fn robots_txt(&self) -> Option<Arc<str>> {
        self.inner
            .robots
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    // -- what it saw ------------------------------------------------------------

    /// What the server saw since start or the last reset.
    pub fn stats(&self) -> SimStats {
        self.inner.stats.snapshot()
    }

    /// Zeroes the figures of [`SiteHandle::stats`].
    pub fn reset_stats(&self) {
        self.inner.stats.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(tracks: usize) -> SiteHandle {
        SiteHandle::new(&SimConfig {
            tracks,
            seed: 3,
            ..SimConfig::default()
        })
    }

    #[test]
    fn generation_is_deterministic_and_ordered_by_recency() {
        let (a, b) = (site(300), site(300));
        assert_eq!(a.tracks(), b.tracks());
        assert_eq!(a.render_catalogue().body, b.render_catalogue().body);
        let tracks = a.tracks();
        let live = tracks.iter().take_while(|t| t.listing.live).count();
        assert!(live > 0);
        assert!(tracks[live..].iter().all(|t| !t.listing.live));
    }

    #[test]
    fn update_logs_only_real_changes_and_bumps_only_that_track() {
        let site = site(50);
        let slugs = site.slugs();
        let (a, b) = (&slugs[10], &slugs[11]);
        let before_a = site.render_dashboard(a).expect("a");
        let before_b = site.render_dashboard(b).expect("b");
        let old = site.track(a).expect("a").phone;
        let log = site
            .update(
                a,
                &TrackPatch {
                    phone: Some(Some("+1 919-555-0143".to_owned())),
                    ..TrackPatch::default()
                },
            )
            .expect("update");
        assert_eq!(
            log.changed,
            vec![FieldChange {
                slug: a.to_ascii_lowercase(),
                field: TrackField::Phone,
                old,
                new: Some("+1 919-555-0143".to_owned()),
            }]
        );
        let after_a = site.render_dashboard(a).expect("a");
        assert_ne!(after_a.etag, before_a.etag);
        assert!(after_a.last_modified > before_a.last_modified);
        assert_eq!(site.render_dashboard(b), Some(before_b));
        let again = site
            .update(
                a,
                &TrackPatch {
                    phone: Some(Some("+1 919-555-0143".to_owned())),
                    ..TrackPatch::default()
                },
            )
            .expect("update");
        assert!(again.is_empty());
    }

    #[test]
    fn catalogue_only_changes_keep_dashboard_validators() {
        let site = site(20);
        let slug = site.slugs()[5].clone();
        let dash = site.render_dashboard(&slug).expect("dashboard");
        let cat = site.render_catalogue();
        site.update(
            &slug,
            &TrackPatch {
                last_updated_text: Some("1 minute ago".to_owned()),
                current_event: Some(Some("Brand New Event".to_owned())),
                ..TrackPatch::default()
            },
        )
        .expect("update");
        assert_eq!(site.render_dashboard(&slug), Some(dash));
        let cat_after = site.render_catalogue();
        assert_ne!(cat_after.etag, cat.etag);
        assert!(cat_after.body.contains("Brand New Event"));
    }

    #[test]
    fn catalogue_etags_follow_content_not_a_counter() {
        let (a, b) = (site(10), site(10));
        assert_eq!(a.render_catalogue().etag, b.render_catalogue().etag);
        let slug = a.slugs()[0].clone();
        a.rename(&slug, "One Name").expect("rename");
        b.rename(&slug, "Another Name").expect("rename");
        assert_ne!(a.render_catalogue().etag, b.render_catalogue().etag);
        b.rename(&slug, "One Name").expect("rename");
        let c = site(10);
        c.rename(&slug, "One Name").expect("rename");
        assert_eq!(a.render_catalogue().etag, c.render_catalogue().etag);
        assert_eq!(a.render_catalogue().body, b.render_catalogue().body);
    }

    #[test]
    fn remove_add_and_truncate() {
        let site = site(30);
        let gone = site.slugs()[3].clone();
        let log = site.remove(&gone).expect("remove");
        assert_eq!(log.removed, vec![gone.to_ascii_lowercase()]);
        assert!(site.render_dashboard(&gone).is_none());
        assert!(matches!(site.remove(&gone), Err(SimError::UnknownTrack(_))));
        let log = site.add_tracks(2);
        assert_eq!(log.added.len(), 2);
        assert_eq!(site.len(), 31);
        assert!(log.added.iter().all(|s| site.render_dashboard(s).is_some()));
        assert!(!log.added.contains(&gone.to_ascii_lowercase()));
        site.truncate_catalogue(Some(10));
        assert_eq!(site.catalogue_slugs().len(), 10);
        assert_eq!(site.len(), 31);
        let body = site.render_catalogue().body;
        assert_eq!(body.matches("clickable-row").count(), 10 + 3);
    }

    #[test]
    fn random_mutations_are_exact_and_reproducible() {
        let (a, b) = (site(200), site(200));
        let before: HashMap<String, TrackRecord> =
            a.tracks().into_iter().map(|t| (t.key(), t)).collect();
        let log = a.mutate_random(11, 40);
        assert_eq!(log, b.mutate_random(11, 40));
        assert!(!log.added.is_empty() && !log.removed.is_empty());
        assert!(!log.renamed.is_empty() && !log.changed.is_empty());
        let after: HashMap<String, TrackRecord> =
            a.tracks().into_iter().map(|t| (t.key(), t)).collect();
        for slug in &log.removed {
            assert!(before.contains_key(slug) && !after.contains_key(slug));
        }
        for slug in &log.added {
            assert!(!before.contains_key(slug) && after.contains_key(slug));
        }
        for r in &log.renamed {
            assert_eq!(before[&r.slug].name, r.old);
            assert_eq!(after[&r.slug].name, r.new);
        }
        for c in &log.changed {
            assert_eq!(before[&c.slug].field(c.field), c.old);
            assert_eq!(after[&c.slug].field(c.field), c.new);
        }
        // Nothing else changed.
        let touched = log.touched_slugs();
        for (slug, rec) in &before {
            if !touched.contains(slug) {
                assert_eq!(after.get(slug), Some(rec), "{slug}");
            }
        }
    }

    #[test]
    fn apply_is_atomic() {
        let site = site(20);
        let slug = site.slugs()[0].clone();
        let request = MutationRequest {
            rename: BTreeMap::from([(slug.clone(), "Renamed".to_owned())]),
            remove: vec!["no-such-track".to_owned()],
            ..MutationRequest::default()
        };
        assert!(matches!(
            site.apply(&request),
            Err(SimError::UnknownTrack(_))
        ));
        assert_ne!(
            site.track(&slug).map(|t| t.name),
            Some("Renamed".to_owned())
        );
        let request: MutationRequest = serde_json::from_str(&format!(
            r#"{{"add": 1, "rename": {{"{slug}": "Renamed"}}, "truncate_catalogue": 5}}"#
        ))
        .expect("request");
        let log = site.apply(&request).expect("apply");
        assert_eq!(log.added.len(), 1);
        assert_eq!(log.renamed.len(), 1);
        assert_eq!(site.catalogue_slugs().len(), 5);
    }

    #[test]
    fn streamed_chunks_equal_the_whole_page() {
        let site = site(700);
        let state = site.snapshot();
        let chunks: String = (0..state.catalogue_chunk_count())
            .map(|i| state.catalogue_chunk(i))
            .collect();
        assert_eq!(chunks, state.render_catalogue());
    }
}
