//! The run report's capped lists: each keeps the first
//! [`MAX_REPORT_ENTRIES`] entries in its own order, whatever order the
//! dashboards complete in, so memory stays bounded and the same site gives
//! the same report; the counts stay exact (the caller counts).
//!
//! Architecture invariant: the service's ground; imports only the domain.

use crate::domain::report::{
    DeactivatedTrack, MAX_REPORT_ENTRIES, MetadataErrorEntry, NewTrackEntry, PendingDeactivation,
    ReactivatedTrackEntry, UpdatedTrackEntry, ValidationAnomaly,
};

/// Append to a report list up to [`MAX_REPORT_ENTRIES`], in arrival order
/// (for the catalogue's skipped rows: its order is the page's); the caller
/// counts.
pub(super) fn keep<T>(list: &mut Vec<T>, items: impl IntoIterator<Item = T>) {
    let room = MAX_REPORT_ENTRIES.saturating_sub(list.len());
    list.extend(items.into_iter().take(room));
}

/// A track in a report list, which lists tracks by name, then slug.
pub(super) trait ListedTrack {
    fn name(&self) -> &str;
    fn slug(&self) -> &str;
}

macro_rules! listed_track {
    ($($entry:ty),*) => {$(
        impl ListedTrack for $entry {
            fn name(&self) -> &str {
                &self.name
            }
            fn slug(&self) -> &str {
                &self.slug
            }
        }
    )*};
}
listed_track!(
    NewTrackEntry,
    UpdatedTrackEntry,
    ReactivatedTrackEntry,
    DeactivatedTrack,
    PendingDeactivation
);

pub(super) fn by_name_then_slug<T: ListedTrack>(a: &T, b: &T) -> std::cmp::Ordering {
    (a.name(), a.slug()).cmp(&(b.name(), b.slug()))
}

pub(super) fn by_slug(a: &MetadataErrorEntry, b: &MetadataErrorEntry) -> std::cmp::Ordering {
    a.slug.cmp(&b.slug)
}

pub(super) fn by_slug_then_field(
    a: &ValidationAnomaly,
    b: &ValidationAnomaly,
) -> std::cmp::Ordering {
    (&a.slug, &a.field).cmp(&(&b.slug, &b.field))
}

/// Add to a report list that keeps the first [`MAX_REPORT_ENTRIES`] in
/// `order`, whatever order they arrive in (dashboards complete in a
/// different order each run): the list may grow to twice the cap, then is
/// sorted and cut back, so memory stays bounded and what is cut could
/// never be among the first. [`first_entries`] gives the final list. The
/// caller counts.
pub(super) fn keep_first<T>(
    list: &mut Vec<T>,
    items: impl IntoIterator<Item = T>,
    order: impl Fn(&T, &T) -> std::cmp::Ordering,
) {
    list.extend(items);
    if list.len() >= 2 * MAX_REPORT_ENTRIES {
        list.sort_by(&order);
        list.truncate(MAX_REPORT_ENTRIES);
    }
}

/// A list built by [`keep_first`], sorted and cut to the cap.
pub(super) fn first_entries<T>(
    mut list: Vec<T>,
    order: impl Fn(&T, &T) -> std::cmp::Ordering,
) -> Vec<T> {
    list.sort_by(order);
    list.truncate(MAX_REPORT_ENTRIES);
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: usize) -> NewTrackEntry {
        NewTrackEntry {
            slug: format!("track-{i:05}"),
            // Names collide in pairs, so the slug decides between them.
            name: format!("Track {:05}", i / 2),
            city: None,
            state: None,
            country_code: None,
            track_url: String::new(),
        }
    }

    /// A permutation of 0..n (a fixed stride coprime with n).
    fn shuffled(n: usize, stride: usize) -> Vec<usize> {
        (0..n).map(|i| (i * stride) % n).collect()
    }

    #[test]
    fn capped_lists_keep_the_first_entries_whatever_the_arrival_order() {
        let n = 2 * MAX_REPORT_ENTRIES + 537;
        let expected: Vec<NewTrackEntry> = (0..MAX_REPORT_ENTRIES).map(entry).collect();
        for (stride, chunk) in [(1, 7), (7919, 50), (n - 1, 1), (3, 3_000)] {
            let order = shuffled(n, stride);
            let mut list = Vec::new();
            for part in order.chunks(chunk) {
                keep_first(&mut list, part.iter().map(|&i| entry(i)), by_name_then_slug);
                assert!(
                    list.len() < 2 * MAX_REPORT_ENTRIES + chunk,
                    "memory stays bounded"
                );
            }
            assert_eq!(
                first_entries(list, by_name_then_slug),
                expected,
                "stride {stride}, chunks of {chunk}"
            );
        }
    }

    #[test]
    fn short_lists_are_only_sorted() {
        let mut list = Vec::new();
        keep_first(&mut list, [entry(9), entry(2), entry(3)], by_name_then_slug);
        let slugs: Vec<String> = first_entries(list, by_name_then_slug)
            .into_iter()
            .map(|e| e.slug)
            .collect();
        assert_eq!(slugs, ["track-00002", "track-00003", "track-00009"]);
    }
}
