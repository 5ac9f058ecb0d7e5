//! The track dashboard, `https://{slug}.liverc.com/`.
//!
//! Bootstrap panels, each found by its heading rather than its position:
//! the About panel (name, postal address, contacts, description, logo), the
//! Track Map panel (the Google Maps iframe's query), the Lifetime Track Stats
//! table, the Facebook panel, and the optional top tiles (racing now, this
//! month's results, sessions and videos). A page with neither an About panel
//! nor a stats panel is not a dashboard; any other panel may be missing.

use std::sync::LazyLock;

use scraper::{ElementRef, Html, Node, Selector};

use super::address::{MapQuery, split_address};
use super::email::decode_email;
use super::text::{
    absolute_https, clean, element_text, is_placeholder, parse_count, percent_decode,
    starts_with_ignore_case, strip_prefix_ignore_case, text_lines,
};
use crate::error::{FormatError, PageKind};
use crate::model::Dashboard;

/// The CSS selectors this parser uses, compiled once.
struct Selectors {
    panel_heading: Selector,
    address: Selector,
    track_logo: Selector,
    facebook_link: Selector,
    facebook_widget: Selector,
    map_iframe: Selector,
    table_row: Selector,
    row_label: Selector,
    row_value: Selector,
    cell: Selector,
    tile_panel: Selector,
    tile_huge: Selector,
    tile_stats: Selector,
    icon: Selector,
}

fn selector(css: &'static str) -> Selector {
    Selector::parse(css)
        .unwrap_or_else(|error| panic!("static selector {css:?} is invalid: {error}"))
}

static SELECTORS: LazyLock<Selectors> = LazyLock::new(|| Selectors {
    panel_heading: selector("div.panel-heading"),
    address: selector("address"),
    track_logo: selector(r#"img[src*="track_logos"]"#),
    facebook_link: selector(r#"a[href*="facebook.com"]"#),
    facebook_widget: selector(r#"[data-href*="facebook.com"], blockquote[cite*="facebook.com"]"#),
    map_iframe: selector(r#"iframe[src*="google.com/maps"]"#),
    table_row: selector("tr"),
    row_label: selector("th"),
    row_value: selector("td.text-right"),
    cell: selector("td"),
    tile_panel: selector("div.dashboard_panels div.panel"),
    tile_huge: selector(".huge"),
    tile_stats: selector(".stats"),
    icon: selector("i"),
});

/// Parses a dashboard page; see the module documentation.
pub(super) fn parse(html: &str) -> Result<Dashboard, FormatError> {
    let document = Html::parse_document(html);
    let selectors = &*SELECTORS;

    let about = find_panel(&document, |heading| {
        strip_prefix_ignore_case(heading, "about").is_some()
    });
    let stats = find_panel(&document, |heading| {
        let heading = heading.to_lowercase();
        heading.contains("track stats") || heading.starts_with("lifetime")
    });
    if about.is_none() && stats.is_none() {
        return Err(FormatError::new(
            PageKind::Dashboard,
            "neither an About panel nor a Lifetime Track Stats panel: not a track dashboard",
        ));
    }

    let mut dashboard = Dashboard {
        map_query: map_query(&document),
        facebook_url: facebook_url(&document),
        ..Dashboard::default()
    };
    let map = dashboard.map_query.as_deref().map(MapQuery::parse);

    if let Some((heading, panel)) = &about {
        read_about_panel(&mut dashboard, heading, *panel, map.as_ref());
    }
    dashboard.logo_url = about
        .and_then(|(_, panel)| panel.select(&selectors.track_logo).next())
        .or_else(|| document.select(&selectors.track_logo).next())
        .and_then(|img| img.attr("src"))
        .and_then(absolute_https);
    if let Some((_, panel)) = stats {
        read_stats_panel(&mut dashboard, panel);
    }
    read_tiles(&mut dashboard, &document);
    Ok(dashboard)
}

/// The first `div.panel-heading` whose collapsed text satisfies `wanted`,
/// with the panel that holds it (its parent element).
fn find_panel<'a>(
    document: &'a Html,
    wanted: impl Fn(&str) -> bool,
) -> Option<(String, ElementRef<'a>)> {
    document
        .select(&SELECTORS.panel_heading)
        .find_map(|heading| {
            let text = element_text(heading)?;
            if !wanted(&text) {
                return None;
            }
            let panel = heading.parent().and_then(ElementRef::wrap)?;
            Some((text, panel))
        })
}

fn read_about_panel(
    dashboard: &mut Dashboard,
    heading: &str,
    panel: ElementRef<'_>,
    map: Option<&MapQuery>,
) {
    let body = panel
        .child_elements()
        .find(|child| child.value().has_class("panel-body", CASE_SENSITIVE))
        .unwrap_or(panel);

    let block = body
        .select(&SELECTORS.address)
        .next()
        .map(read_address)
        .unwrap_or_default();

    dashboard.name = block
        .name
        .or_else(|| strip_prefix_ignore_case(heading, "about").and_then(clean));

    let address = split_address(&block.lines, map);
    dashboard.street = address.street;
    dashboard.city = address.city;
    dashboard.state = address.state;
    dashboard.postal_code = address.postal_code;
    dashboard.country = address.country;
    dashboard.country_code = address.country_code;

    for contact in &block.contacts {
        match contact.kind {
            ContactKind::Phone if dashboard.phone.is_none() => dashboard.phone = contact.phone(),
            ContactKind::Website if dashboard.website.is_none() => {
                dashboard.website = contact.website();
            }
            ContactKind::Email if dashboard.email.is_none() => {
                dashboard.email = decode_email(&contact.text, contact.href.as_deref());
            }
            _ => {}
        }
    }

    dashboard.description = body
        .child_elements()
        .filter(|child| {
            child.value().name() == "div" && child.value().has_class("row", CASE_SENSITIVE)
        })
        .nth(1)
        .map(|row| text_lines(row).join("\n"))
        .filter(|text| !text.is_empty());
}

const CASE_SENSITIVE: scraper::CaseSensitivity = scraper::CaseSensitivity::CaseSensitive;

/// What kind of contact an `<abbr>` introduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ContactKind {
    Phone,
    Website,
    Email,
    Other,
}

impl ContactKind {
    /// From the `<abbr title="Phone">P:</abbr>` title, else its text.
    fn of(abbr: ElementRef<'_>) -> Self {
        let title = abbr.attr("title").unwrap_or_default().to_lowercase();
        let text = element_text(abbr).unwrap_or_default().to_lowercase();
        if title.contains("phone") || title.starts_with("tel") {
            ContactKind::Phone
        } else if title.contains("web") || title.contains("site") || title == "url" {
            ContactKind::Website
        } else if title.contains("mail") {
            ContactKind::Email
        } else {
            match text.trim_end_matches(':') {
                "p" | "ph" | "phone" | "tel" => ContactKind::Phone,
                "w" | "web" | "website" => ContactKind::Website,
                "e" | "email" | "e-mail" => ContactKind::Email,
                _ => ContactKind::Other,
            }
        }
    }
}

/// One contact of the address block: the text after its `<abbr>` up to the
/// next `<br>`, and the first link's href there.
#[derive(Debug, Clone)]
struct Contact {
    kind: ContactKind,
    text: String,
    href: Option<String>,
}

impl Contact {
    /// The link text of a `tel:` link, else the text after the abbr, else the
    /// `tel:` target; placeholders ("N/A") and digit-less values are `None`.
    fn phone(&self) -> Option<String> {
        let plausible = |value: &str| {
            let value = clean(value)?;
            (!is_placeholder(&value) && value.chars().any(|c| c.is_ascii_digit())).then_some(value)
        };
        let from_href = self
            .href
            .as_deref()
            .and_then(|href| strip_prefix_ignore_case(href.trim(), "tel:"))
            .map(percent_decode);
        plausible(&self.text).or_else(|| plausible(from_href.as_deref()?))
    }

    /// The link's href (protocol-relative made https), else the text when it
    /// looks like an address; placeholders are `None`.
    fn website(&self) -> Option<String> {
        let from_href = self
            .href
            .as_deref()
            .and_then(absolute_https)
            .filter(|href| looks_like_web_address(href));
        from_href.or_else(|| clean(&self.text).filter(|text| looks_like_web_address(text)))
    }
}

/// An `http(s)://` URL with a host, or a bare `host.tld/…` without spaces.
fn looks_like_web_address(value: &str) -> bool {
    let rest = strip_prefix_ignore_case(value, "https://")
        .or_else(|| strip_prefix_ignore_case(value, "http://"))
        .unwrap_or(value);
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    !is_placeholder(value)
        && !starts_with_ignore_case(value, "mailto:")
        && !starts_with_ignore_case(value, "javascript:")
        && !host.contains('@')
        && host.contains('.')
        && !host.starts_with('.')
        && !value.chars().any(char::is_whitespace)
}

/// The `<address>` block read line by line.
#[derive(Debug, Default)]
struct AddressBlock {
    /// The `<strong>` before the first line.
    name: Option<String>,
    /// Postal lines between `<br>`s, before the first contact `<abbr>`.
    lines: Vec<String>,
    contacts: Vec<Contact>,
}

fn read_address(address: ElementRef<'_>) -> AddressBlock {
    let mut block = AddressBlock::default();
    let mut line = String::new();
    let mut open_contact: Option<Contact> = None;
    let mut in_contacts = false;

    for child in address.children() {
        match child.value() {
            Node::Text(text) => match open_contact.as_mut() {
                Some(contact) => contact.text.push_str(text),
                None if !in_contacts => line.push_str(text),
                None => {}
            },
            Node::Element(element) => {
                let Some(child) = ElementRef::wrap(child) else {
                    continue;
                };
                match element.name() {
                    "br" => {
                        if let Some(contact) = open_contact.take() {
                            block.contacts.push(contact);
                        } else if !in_contacts {
                            block.lines.push(std::mem::take(&mut line));
                        }
                    }
                    "abbr" => {
                        if !in_contacts {
                            block.lines.push(std::mem::take(&mut line));
                        }
                        block.contacts.extend(open_contact.take());
                        open_contact = Some(Contact {
                            kind: ContactKind::of(child),
                            text: String::new(),
                            href: None,
                        });
                        in_contacts = true;
                    }
                    "strong" | "b"
                        if block.name.is_none()
                            && !in_contacts
                            && block.lines.iter().all(|l| l.trim().is_empty())
                            && line.trim().is_empty() =>
                    {
                        block.name = element_text(child);
                    }
                    "script" | "style" | "template" => {}
                    _ => {
                        let text: String = child.text().collect();
                        if let Some(contact) = open_contact.as_mut() {
                            contact.text.push_str(&text);
                            if contact.href.is_none() {
                                contact.href = link_href(child);
                            }
                        } else if !in_contacts {
                            line.push_str(&text);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(contact) = open_contact {
        block.contacts.push(contact);
    }
    if !in_contacts {
        block.lines.push(line);
    }
    block.lines.retain(|l| !l.trim().is_empty());
    block
}

/// The href of `element` if it is a link, else of its first descendant link.
fn link_href(element: ElementRef<'_>) -> Option<String> {
    std::iter::once(element)
        .chain(element.descendent_elements())
        .filter(|e| e.value().name() == "a")
        .find_map(|a| a.attr("href"))
        .map(|href| href.trim().to_owned())
}

/// The Facebook panel's page link: the panel whose heading starts with
/// "Facebook" ("Facebook Feed", "Facebook Page"), its first `facebook.com`
/// link that is not a share or plugin link, else its `fb-page` widget's
/// `data-href` or quote's `cite`. Links elsewhere on the page (the About
/// panel's website may itself be a Facebook page) do not count.
fn facebook_url(document: &Html) -> Option<String> {
    let (_, panel) = find_panel(document, |heading| {
        starts_with_ignore_case(heading, "facebook")
    })?;
    let usable = |href: &str| {
        let href = absolute_https(href)?;
        (!href.contains("/sharer") && !href.contains("/plugins/")).then_some(href)
    };
    panel
        .select(&SELECTORS.facebook_link)
        .filter_map(|link| link.attr("href"))
        .find_map(usable)
        .or_else(|| {
            panel
                .select(&SELECTORS.facebook_widget)
                .filter_map(|widget| widget.attr("data-href").or_else(|| widget.attr("cite")))
                .find_map(usable)
        })
}

/// The map iframe's `q=` parameter, percent- and plus-decoded, collapsed.
fn map_query(document: &Html) -> Option<String> {
    let src = document
        .select(&SELECTORS.map_iframe)
        .find_map(|iframe| iframe.attr("src"))?;
    let query = src.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or_default();
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == "q")
        .and_then(|(_, value)| clean(&value))
}

fn read_stats_panel(dashboard: &mut Dashboard, panel: ElementRef<'_>) {
    for row in panel.select(&SELECTORS.table_row) {
        let Some(label) = row
            .select(&SELECTORS.row_label)
            .next()
            .and_then(element_text)
        else {
            continue;
        };
        let value = row
            .select(&SELECTORS.row_value)
            .next()
            .or_else(|| row.select(&SELECTORS.cell).last())
            .and_then(element_text)
            .and_then(|text| parse_count(&text));
        let slot = match label.to_lowercase().trim_end_matches(':') {
            "laps" => &mut dashboard.total_laps,
            "practice sessions" => &mut dashboard.total_practice_sessions,
            "races" => &mut dashboard.total_races,
            "entries" => &mut dashboard.total_entries,
            "events" => &mut dashboard.total_events,
            _ => continue,
        };
        if slot.is_none() {
            *slot = value;
        }
    }
}

/// The top tiles: a number tile is assigned by its caption ("Results This
/// Month"), the live tile is read from its check/cross icon or its caption.
fn read_tiles(dashboard: &mut Dashboard, document: &Html) {
    for tile in document.select(&SELECTORS.tile_panel) {
        let Some(huge) = tile.select(&SELECTORS.tile_huge).next() else {
            continue;
        };
        let caption = tile
            .select(&SELECTORS.tile_stats)
            .next()
            .and_then(element_text)
            .unwrap_or_default()
            .to_lowercase();
        if let Some(count) = element_text(huge).and_then(|text| parse_count(&text)) {
            let slot = if caption.contains("result") {
                &mut dashboard.month_results
            } else if caption.contains("session") {
                &mut dashboard.month_sessions
            } else if caption.contains("video") {
                &mut dashboard.month_videos
            } else {
                continue;
            };
            slot.get_or_insert(count);
            continue;
        }
        let icon_says = huge.select(&SELECTORS.icon).find_map(|icon| {
            let classes: Vec<&str> = icon.value().classes().collect();
            if classes.contains(&"fa-check") {
                Some(true)
            } else if classes
                .iter()
                .any(|c| matches!(*c, "fa-times" | "fa-close" | "fa-ban"))
            {
                Some(false)
            } else {
                None
            }
        });
        let caption_says = if caption.contains("offline") {
            Some(false)
        } else if caption.contains("racing") || caption.starts_with("live") {
            Some(true)
        } else {
            None
        };
        if dashboard.racing_now.is_none() {
            dashboard.racing_now = icon_says.or(caption_says);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn about(address: &str, extra_rows: &str) -> String {
        format!(
            r#"<html><body><div class="panel panel-default">
              <div class="panel-heading"><i class="fa fa-flag"></i> About Test Track</div>
              <div class="panel-body">
                <div class="row"><div class="col-sm-4"><address class="small">{address}</address></div></div>
                {extra_rows}
              </div></div></body></html>"#
        )
    }

    fn parse_ok(html: &str) -> Dashboard {
        parse(html).expect("fixture is a dashboard")
    }

    #[test]
    fn selectors_compile() {
        let _ = &*SELECTORS;
    }

    #[test]
    fn not_a_dashboard_is_a_format_error() {
        for html in [
            "",
            "<html><body><p>Not found</p></body></html>",
            "\u{0}\u{fffd}<<>>",
        ] {
            let error = parse(html).expect_err("no panels");
            assert_eq!(error.page, PageKind::Dashboard);
        }
        // Panels with other headings do not count.
        let html = r#"<div class="panel"><div class="panel-heading">Track Map</div></div>"#;
        assert!(parse(html).is_err());
    }

    #[test]
    fn stats_panel_alone_is_enough() {
        let html = r#"<div class="panel"><div class="panel-heading"> Lifetime Track Stats </div>
            <div class="panel-body"><table><tbody>
            <tr><th>LAPS</th><td class="text-right">1.234.567</td></tr>
            <tr><th>Practice Sessions</th><td class="text-right">12&nbsp;345</td></tr>
            <tr><th>Races</th><td class="text-right">n/a</td></tr>
            <tr><th>Entries</th><td>7</td><td class="text-right">42</td></tr>
            <tr><th>Events</th><td>9</td></tr>
            <tr><th>Unknown</th><td class="text-right">5</td></tr>
            <tr><td>no label</td></tr>
            </tbody></table></div></div>"#;
        let d = parse_ok(html);
        assert_eq!(d.total_laps, Some(1_234_567));
        assert_eq!(d.total_practice_sessions, Some(12_345));
        assert_eq!(d.total_races, None);
        assert_eq!(d.total_entries, Some(42));
        assert_eq!(d.total_events, Some(9));
        assert_eq!(d.name, None);
        assert_eq!(d.country, None);
    }

    #[test]
    fn address_contacts_and_description() {
        let html = about(
            r#"<strong>Test &amp; Track</strong><br>1 Main St<br>Springfield, IL 62701<br>USA<br><br>
               <abbr title="Phone">P:</abbr> <a href="tel:+1%20555-0100">+1 555-0100</a><br>
               <abbr title="Website">W:</abbr> <a href="//track.example.com/" target="_blank">track.example.com</a><br>
               <abbr title="E-Mail">E:</abbr> <a href="javascript:noSpam('club', 'example.com');">&#99;&#108;&#117;&#98;&#64;&#101;&#120;&#97;&#109;&#112;&#108;&#101;&#46;&#99;&#111;&#109;</a>"#,
            r#"<div class="row"><div class="col-md-12"><hr>  First   line<br>Second
               line<br><br>Third</div></div>"#,
        );
        let d = parse_ok(&html);
        assert_eq!(d.name.as_deref(), Some("Test & Track"));
        assert_eq!(d.street.as_deref(), Some("1 Main St"));
        assert_eq!(d.city.as_deref(), Some("Springfield"));
        assert_eq!(d.state.as_deref(), Some("IL"));
        assert_eq!(d.postal_code.as_deref(), Some("62701"));
        assert_eq!(d.country.as_deref(), Some("United States"));
        assert_eq!(d.country_code.as_deref(), Some("US"));
        assert_eq!(d.phone.as_deref(), Some("+1 555-0100"));
        assert_eq!(d.website.as_deref(), Some("https://track.example.com/"));
        assert_eq!(d.email.as_deref(), Some("club@example.com"));
        assert_eq!(
            d.description.as_deref(),
            Some("First line\nSecond line\nThird")
        );
        // Only the About panel: no stats.
        assert_eq!(d.total_laps, None);
    }

    #[test]
    fn placeholders_and_fallbacks() {
        let html = about(
            r#"Narrabundah 02604<br>
               <abbr title="Phone">P:</abbr> N/A<br>
               <abbr title="Website">W:</abbr> <a href="http://">http://</a><br>
               <abbr title="E-Mail">E:</abbr> <a href="javascript:noSpam('info', 'cormcc.org');">contact us</a>"#,
            "",
        ) + r#"<iframe src="https://www.google.com/maps/embed/v1/place?key=K&q=Kyeema+Street%2CNarrabundah,+02604,AU"></iframe>"#;
        let d = parse_ok(&html);
        // No <strong>: the name comes from the heading.
        assert_eq!(d.name.as_deref(), Some("Test Track"));
        assert_eq!(d.city.as_deref(), Some("Narrabundah"));
        assert_eq!(d.postal_code.as_deref(), Some("02604"));
        assert_eq!(d.phone, None);
        assert_eq!(d.website, None);
        assert_eq!(d.email.as_deref(), Some("info@cormcc.org"));
        assert_eq!(d.description, None);
        assert_eq!(
            d.map_query.as_deref(),
            Some("Kyeema Street,Narrabundah, 02604,AU")
        );
        // No country line: the map's ISO code is the fallback.
        assert_eq!(d.country.as_deref(), Some("Australia"));
        assert_eq!(d.country_code.as_deref(), Some("AU"));
    }

    #[test]
    fn phone_from_tel_href_when_text_is_empty() {
        let html = about(
            r#"<abbr title="Phone">P:</abbr> <a href="tel:+61%20403%20594%20396"></a>"#,
            "",
        );
        assert_eq!(parse_ok(&html).phone.as_deref(), Some("+61 403 594 396"));
    }

    #[test]
    fn abbr_text_identifies_contacts_without_titles() {
        let html = about(
            r#"<b>Name</b><br>Town<br><abbr>P:</abbr> 555 0100<br><abbr>W:</abbr> www.example.org<br><abbr>E:</abbr> not an address"#,
            "",
        );
        let d = parse_ok(&html);
        assert_eq!(d.name.as_deref(), Some("Name"));
        assert_eq!(d.city.as_deref(), Some("Town"));
        assert_eq!(d.phone.as_deref(), Some("555 0100"));
        assert_eq!(d.website.as_deref(), Some("www.example.org"));
        assert_eq!(d.email, None);
    }

    #[test]
    fn logo_facebook_and_tiles() {
        let html = about(
            "<strong>T</strong>",
            r#"<div class="row"><img src="//assets.livetimescoring.com/track_logos/1/x.png"></div>"#,
        ) + r#"
            <div class="row dashboard_panels">
              <a href="/live/"><div class="panel"><div class="huge"><i class="fa fa-check"></i></div>
                 <div class="stats">LIVE (Racing)</div></div></a>
              <a href="/results/"><div class="panel"><div class="huge">1,262</div><div class="stats">Results This Month</div></div></a>
              <a href="/practice/"><div class="panel"><div class="huge">7</div><div class="stats">Sessions This Month</div></div></a>
              <a href="/videos/"><div class="panel"><div class="huge">0</div><div class="stats">Videos This Month</div></div></a>
            </div>
            <div class="panel"><div class="panel-heading"><i class="fa fa-facebook-square"></i> Facebook Page</div>
              <div class="panel-body"><p><a href="https://www.facebook.com/sharer.php?u=x">share</a>
              <a href="https://www.facebook.com/groups/1/">fb</a></p></div></div>"#;
        let d = parse_ok(&html);
        assert_eq!(
            d.logo_url.as_deref(),
            Some("https://assets.livetimescoring.com/track_logos/1/x.png")
        );
        assert_eq!(
            d.facebook_url.as_deref(),
            Some("https://www.facebook.com/groups/1/")
        );
        assert_eq!(d.racing_now, Some(true));
        assert_eq!(d.month_results, Some(1262));
        assert_eq!(d.month_sessions, Some(7));
        assert_eq!(d.month_videos, Some(0));
        // The logo row is the second row, but has no text: no description.
        assert_eq!(d.description, None);
    }

    #[test]
    fn facebook_comes_from_the_facebook_panel_only() {
        // The website is a Facebook page; there is no Facebook panel.
        let website_only = about(
            r#"<strong>T</strong><br>Town<br><abbr title="Website">W:</abbr> <a href="https://www.facebook.com/tracksite">x</a>"#,
            "",
        ) + r#"<p><a href="https://www.facebook.com/elsewhere">stray link</a></p>"#;
        let d = parse_ok(&website_only);
        assert_eq!(
            d.website.as_deref(),
            Some("https://www.facebook.com/tracksite")
        );
        assert_eq!(d.facebook_url, None);

        // A panel whose widget has no plain link: data-href, else cite.
        let widget = |attrs: &str| {
            about(
                r#"<strong>T</strong><br><abbr title="Website">W:</abbr> <a href="https://www.facebook.com/tracksite">x</a>"#,
                "",
            ) + &format!(
                r#"<div class="panel panel-default"><div class="panel-heading"> Facebook Feed </div>
                   <div class="panel-body"><div class="fb-page" {attrs}></div></div></div>"#
            )
        };
        assert_eq!(
            parse_ok(&widget(r#"data-href="//www.facebook.com/club/""#))
                .facebook_url
                .as_deref(),
            Some("https://www.facebook.com/club/")
        );
        let quoted = r#"data-x="1"><blockquote cite="http://www.facebook.com/club2/"></blockquote"#;
        assert_eq!(
            parse_ok(&widget(quoted)).facebook_url.as_deref(),
            Some("http://www.facebook.com/club2/")
        );
        assert_eq!(parse_ok(&widget("")).facebook_url, None);
    }

    #[test]
    fn the_map_query_settles_a_lone_address_line() {
        let page = |line: &str, query: &str| {
            about(
                &format!("<strong>T</strong><br>{line}<br>Australia<br>"),
                "",
            ) + &format!(
                r#"<iframe src="https://www.google.com/maps/embed/v1/place?key=K&q={query}"></iframe>"#
            )
        };
        let d = parse_ok(&page("Kyeema Reserve", "Kyeema Reserve,,+,AU"));
        assert_eq!(d.street.as_deref(), Some("Kyeema Reserve"));
        assert_eq!(d.city, None);
        let d = parse_ok(&page("Lot 88, Wattle Road", "Lot 88, Wattle Road,,+,AU"));
        assert_eq!(d.street.as_deref(), Some("Lot 88, Wattle Road"));
        assert_eq!((d.city, d.state), (None, None));
        let d = parse_ok(&page("Narrabundah", ",Narrabundah,+,AU"));
        assert_eq!(d.street, None);
        assert_eq!(d.city.as_deref(), Some("Narrabundah"));
        assert_eq!(d.country_code.as_deref(), Some("AU"));
    }

    #[test]
    fn offline_tile_by_caption_or_icon() {
        let tile = |huge: &str, caption: &str| {
            about("<strong>T</strong>", "")
                + &format!(
                    r#"<div class="dashboard_panels"><div class="panel"><div class="huge">{huge}</div><div class="stats">{caption}</div></div></div>"#
                )
        };
        assert_eq!(
            parse_ok(&tile(r#"<i class="fa fa-times"></i>"#, "Track is Offline")).racing_now,
            Some(false)
        );
        assert_eq!(
            parse_ok(&tile("", "Track is Offline")).racing_now,
            Some(false)
        );
        assert_eq!(parse_ok(&tile("", "LIVE (Racing)")).racing_now, Some(true));
        assert_eq!(parse_ok(&tile("", "Something else")).racing_now, None);
    }

    #[test]
    fn website_must_look_like_a_web_address() {
        let contact = |text: &str, href: Option<&str>| Contact {
            kind: ContactKind::Website,
            text: text.to_owned(),
            href: href.map(str::to_owned),
        };
        assert_eq!(
            contact("", Some("http://www.cormcc.org"))
                .website()
                .as_deref(),
            Some("http://www.cormcc.org")
        );
        assert_eq!(
            contact("x", Some("//bayrc.com.au/")).website().as_deref(),
            Some("https://bayrc.com.au/")
        );
        assert_eq!(
            contact("www.a.org", Some("/")).website().as_deref(),
            Some("www.a.org")
        );
        assert_eq!(contact(" N/A ", Some("http://")).website(), None);
        assert_eq!(
            contact("see facebook", Some("javascript:void(0)")).website(),
            None
        );
        assert_eq!(contact("", Some("#")).website(), None);
        assert_eq!(contact("", Some("mailto:a@b.com")).website(), None);
        assert_eq!(contact("a@b.com", None).website(), None);
        assert_eq!(contact("", Some("https://.x")).website(), None);
    }

    #[test]
    fn map_query_code_needs_two_letters() {
        let code = |q: &str| MapQuery::parse(q).country_code;
        assert_eq!(
            code("5320 US 301,Lucama,NC 27851,US").as_deref(),
            Some("US")
        );
        assert_eq!(code("Narrabundah, 02604, au ").as_deref(), Some("AU"));
        assert_eq!(code("Lucama,NC 27851"), None);
        assert_eq!(code(""), None);
    }
}
