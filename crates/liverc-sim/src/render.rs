//! HTML rendering of the catalogue and of dashboards, in the real site's
//! markup, with `std::fmt::Write` into a `String` (no template engine).
//!
//! Two layouts exist on the real site's captures and both are produced: the
//! wire layout (tab indentation, bare `<br>`, trailing tabs before each
//! `<br>`) and the pretty-printed one (`<br />`, `>` of an element wrapped
//! onto the next line). Which one a page or row uses is part of the track's
//! record. Text is escaped with `&amp;`, `&lt;`, `&gt;`, `&quot;` and
//! `&#39;`; the e-mail link text is fully entity-encoded like the real site's
//! `noSpam` obfuscation.

use std::fmt::Write as _;

use crate::model::{FacebookStyle, HrefStyle, Listing, MarkupStyle, StatusIcon, TrackRecord};

/// `write!` into a `String`, which cannot fail.
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {{
        let _ = write!($out, $($arg)*);
    }};
}

/// Appends `s` with HTML's five special characters escaped.
pub(crate) fn escape_into(out: &mut String, s: &str) {
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&s[last..i]);
        out.push_str(rep);
        last = i + 1;
    }
    out.push_str(&s[last..]);
}

/// `s` escaped (see [`escape_into`]).
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    escape_into(&mut out, s);
    out
}

/// Appends every character of `s` as a decimal character reference
/// (`&#105;&#110;…`), the real site's e-mail obfuscation.
fn entities_into(out: &mut String, s: &str) {
    for c in s.chars() {
        w!(out, "&#{};", u32::from(c));
    }
}

/// `n` with comma thousands separators: `6,753,663`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------
// shared boilerplate

const HEAD_START: &str = "<!DOCTYPE html>\n<html lang=\"en\">\n\n\t<head>\n\t\t\n\t\t<!-- Document Type -->\n\t\t<meta charset=\"utf-8\" />\n\t\t<meta http-equiv=\"Content-Language\" content=\"en-us\" />\n\t\t<meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />\n\t\t<meta http-equiv=\"X-UA-Compatible\" content=\"IE=edge\" />\n\t\t<meta name=\"format-detection\" content=\"telephone=no\" />\n\t\t<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\" />\n\t\t\n\t\t<!-- Page Info -->\n\t\t<title>";

const HEAD_END: &str = "</title>\n\t\t<meta name=\"Copyright\" content=\"2014-2026 LiveRC\" />\n\t\t<meta name=\"Description\" content=\"Live and archived results, scoring, and video on LiveRC.com.\" />\n\t\t<meta name=\"robots\" content=\"index, follow\" />\n\t\t\n\t\t<!-- Thumbnails and Icons -->\n\t\t<link rel=\"icon\" type=\"image/x-ico\" href=\"//assets.liveracemedia.com/images/static/favicon.png\" />\n\t\t<link rel=\"shortcut icon\" type=\"image/x-icon\" href=\"//assets.liveracemedia.com/images/static/favicon.png\" />\n\t\t\n\t\t<!-- Bootstrap Core CSS -->\n\t\t<link href=\"/vendor/bootstrap/css/bootstrap.min.css\" rel=\"stylesheet\" />\n\t\t<link href=\"/vendor/sb-admin-2/css/sb-admin-2.css\" rel=\"stylesheet\" />\n\t\t<link rel=\"stylesheet\" type=\"text/css\" href=\"/vendor/font-awesome/css/font-awesome.min.css\" />\n\t\t<link rel=\"stylesheet\" type=\"text/css\" href=\"//fonts.googleapis.com/css?family=Open+Sans|Open+Sans+Condensed:300\" />\n\t\t\n\t\t<!-- CSS Files -->\n\t\t<link rel=\"stylesheet\" type=\"text/css\" media=\"screen\" href=\"/css/global/global.default.css?1203\" />\n\t\t\n\t\t<!-- jQuery -->\n\t\t<script src=\"//assets.liveracemedia.com/lib/jquery/jquery.min.js\"></script>\n\t\t\n\t\t<!-- Google DFP (simulated: no third-party calls) -->\n\t\t<script type=\"text/javascript\">\n\t\t\tvar googletag = googletag || {};\n\t\t\tgoogletag.cmd = googletag.cmd || [];\n\t\t\tvar gptAdSlots = [];\n\t\t</script>\n\t\t\n\t\t<script type=\"text/javascript\">\n\t\t\tvar domain = 'liverc.com';\n\t\t</script>\n\t</head>\n\t\n\t<body>\n\t\t\n\t\t<div id=\"fb-root\"></div>\n\t\t\n\t\t<!-- Current User -->\n\t\t<pre class=\"hidden\" id=\"user_profile_data\">false</pre>\n\t\t\n\t\t<!-- Wrapper -->\n\t\t<div id=\"wrapper\">\n\t\t\n\t\t\t<!-- Navigation -->\n\t\t\t<nav class=\"navbar navbar-default navbar-static-top\" role=\"navigation\" style=\"margin-bottom: 0;\">\n\t\t\t\t<div class=\"navbar-header fixed\">\n\t\t\t\t\t<a class=\"navbar-brand\" href=\"/\"><div id=\"LRC-logo\"></div></a>\n\t\t\t\t\t<ul class=\"nav navbar-top-links navbar-right\">\n\t\t\t\t\t\t<li class=\"dropdown\">\n\t\t\t\t\t\t\t<a class=\"dropdown-toggle\" data-toggle=\"dropdown\" href=\"#\"><i class=\"fa fa-user fa-fw\"></i> <i class=\"fa fa-caret-down\"></i></a>\n\t\t\t\t\t\t\t<ul class=\"dropdown-menu dropdown-user\">\n\t\t\t\t\t\t\t\t<li><a href=\"https://www.liverc.com/signup/\" target=\"_blank\"><i class=\"fa fa-user fa-fw\"></i> Register</a></li>\n\t\t\t\t\t\t\t\t<li><a href=\"#\" id=\"menu_log_in\"><i class=\"fa fa-sign-in fa-fw\"></i> Log In</a></li>\n\t\t\t\t\t\t\t</ul>\n\t\t\t\t\t\t</li>\n\t\t\t\t\t</ul>\n\t\t\t\t</div>\n\t\t\t\t\n\t\t\t\t<div class=\"navbar-default sidebar\" role=\"navigation\">\n\t<div class=\"sidebar-nav navbar-collapse collapse\">\n\t\t<ul class=\"nav\" id=\"side-menu\">\n\t\t\t<li>\n\t\t\t\t<div style=\"display: table-cell; width: 1%\">&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;</div>\n\t\t\t</li>\n\t\t\t<li><a href=\"//live.liverc.com\"><i class=\"fa fa-road fa-fw\"></i> Switch Tracks</a></li>\n";

const NAV_TRACK: &str = "\t\t\t<li><a href=\"/\"><i class=\"fa fa-dashboard fa-fw\"></i> Track Dashboard</a></li>\n\t\t\t<li><a href=\"/live/\"><i class=\"fa fa-hourglass fa-fw\"></i> Watch Live</a></li>\n\t\t\t<li><a href=\"/results/\"><i class=\"fa fa-list-ol fa-fw\"></i> Race Results</a></li>\n\t\t\t<li><a href=\"/practice/\"><i class=\"fa fa-clock-o fa-fw\"></i> Practice Times</a></li>\n\t\t\t<li><a href=\"/track_map/\"><i class=\"fa fa-globe fa-fw\"></i> Live Track Map</a></li>\n";

const NAV_END: &str = "\t\t\t<li><a href=\"https://www.livetimescoring.com\" target=\"_blank\"><i class=\"fa fa-download fa-fw\"></i> Get LiveTime</a></li>\n\t\t\t<li><a href=\"https://www.livetimescoring.com/mylaps/\" target=\"_blank\"><i class=\"fa fa-shopping-cart fa-fw\"></i> Buy Transponders</a></li>\n\t\t</ul>\n\t\t\n\t\t<!-- Powered By LiveTime -->\n\t\t<a href=\"https://www.livetimescoring.com\" target=\"_blank\">\n\t\t\t<div id=\"powered_by_livetime\">\n\t\t\t\t<div class=\"txt\">Data Powered By</div>\n\t\t\t\t<div class=\"logo\"><img src=\"//assets.liveracemedia.com/images/logos/livetime_powered_by.png\"></div>\n\t\t\t</div>\n\t\t</a>\n\t</div>\n\t\n\t</div>\n\t\t\t</nav>\n\t\t\t\n\t\t\t<div id=\"page-wrapper\">\n\t\t\t\t\n";

const PAGE_END: &str = "\t\t\t</div>\n\t\t\t<!-- /#page-wrapper -->\n\t\t\t\n\t\t</div>\n\t\t<!-- /#wrapper -->\n\n\t\t<!-- Modals -->\n\t\t<div id=\"modals\"></div>\n\t\t\n\t\t<!-- Loading interface screen -->\n\t\t<div id=\"loading_overlay\">\n\t\t\t<div id=\"user_status_modal\" class=\"modal show\" role=\"dialog\">\n\t\t\t\t<div class=\"vertical-alignment-helper\">\n\t\t\t\t\t<div class=\"modal-dialog vertical-align-center\">\n\t\t\t\t\t\t<div class=\"modal-content\">\n\t\t\t\t\t\t\t<div class=\"modal-body text-center\">\n\t\t\t\t\t\t\t\t<p><img src=\"//assets.liveracemedia.com/images/logos/liveracemedia_primary_logo.png\" width=\"250\" /></p>\n\t\t\t\t\t\t\t\t<p><img src=\"//assets.liveracemedia.com/images/static/loading.svg\" width=\"75\" /></p>\n\t\t\t\t\t\t\t\t<p><strong>LOADING INTERFACE...</strong></p>\n\t\t\t\t\t\t\t</div>\n\t\t\t\t\t\t</div>\n\t\t\t\t\t</div>\n\t\t\t\t</div>\n\t\t\t</div>\n\t\t</div>\n\t\t\n\t\t<!-- JavaScript Files -->\n\t\t<script src=\"/js/global/global.default.min.js?1203\"></script>\n\t\t<script src=\"/vendor/bootstrap/js/bootstrap.min.js\"></script>\n\t\t<script src=\"/vendor/metisMenu/metisMenu.min.js\"></script>\n\t\t<script src=\"/vendor/sb-admin-2/js/sb-admin-2.js\"></script>\n\t\t\n\t\t<script>\n\t\t\tvar showFlyInBox = false;\n\t\t</script>\n\t\t\n\t</body>\n</html>\n";

// ---------------------------------------------------------------------------
// dashboard

/// The Maps embed key printed in the iframe (a placeholder: the page is
/// never shown in a browser).
const MAPS_KEY: &str = "SIMULATED-MAPS-EMBED-KEY";

/// Renders a track's dashboard page.
pub(crate) fn dashboard(rec: &TrackRecord) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let name = escape(&rec.name);
    out.push_str(HEAD_START);
    w!(out, "{name} :: Broadcast and Results :: LiveRC");
    out.push_str(HEAD_END);
    out.push_str(NAV_TRACK);
    out.push_str(NAV_END);
    w!(
        out,
        "\t\t\t\t\t\t\t\t<div class=\"row page-breadcrumb\">\n\t<div class=\"col-lg-12\">\n\t\t<h1 class=\"page-header\"><span class=\"fa fa-dashboard\"></span> {name}'s Dashboard</h1>\n\t</div>\n</div>\n\n"
    );
    tiles(&mut out, rec);
    out.push_str("<div class=\"row\">\n\t\n\t<div class=\"col-lg-8\">\n\t\t\n");
    about(&mut out, rec, &name);
    map(&mut out, rec);
    out.push_str("\t\t\t\t\n\t</div>\n\t\n\t<div class=\"col-lg-4\">\n\t\t\n\t\t\t\t\n");
    lifetime(&mut out, rec);
    facebook(&mut out, rec, &name);
    out.push_str("\t\t\t\t\n\t</div>\n\t\n</div>\n\n\t\t\t\t\n");
    out.push_str(PAGE_END);
    out
}

fn tile(
    out: &mut String,
    href: &str,
    color: &str,
    icon: &str,
    huge: &str,
    stats: &str,
    footer: &str,
) {
    w!(
        out,
        "\t<!-- {stats} -->\n\t<a href=\"{href}\">\n\t\t<div class=\"col-lg-3 col-md-6 col-xs-6\">\n\t\t\t<div class=\"panel panel-{color}\">\n\t\t\t\t<div class=\"panel-heading\">\n\t\t\t\t\t<div class=\"row\">\n\t\t\t\t\t\t<div class=\"col-xs-3\">\n\t\t\t\t\t\t\t<i class=\"fa fa-{icon} fa-4x\"></i>\n\t\t\t\t\t\t</div>\n\t\t\t\t\t\t<div class=\"col-xs-9 text-right\">\n\t\t\t\t\t\t\t<div class=\"huge\">{huge}</div>\n\t\t\t\t\t\t\t<div class=\"stats\">{stats}</div>\n\t\t\t\t\t\t</div>\n\t\t\t\t\t</div>\n\t\t\t\t</div>\n\t\t\t\t<div class=\"panel-footer\">\n\t\t\t\t\t<span class=\"pull-left\"><u>{footer}</u></span>\n\t\t\t\t\t<span class=\"pull-right\"><i class=\"fa fa-arrow-circle-right\"></i></span>\n\t\t\t\t\t<div class=\"clearfix\"></div>\n\t\t\t\t</div>\n\t\t\t</div>\n\t\t</div>\n\t</a>\n\t\n"
    );
}

fn tiles(out: &mut String, rec: &TrackRecord) {
    out.push_str("<!-- Dashboard -->\n<div class=\"row dashboard_panels\">\n\t\n");
    // The live tile: the real page wraps the status text in tabs.
    let (icon, text, footer) = match (rec.listing.live, rec.listing.status) {
        (true, StatusIcon::Practicing) => ("check", "LIVE (Practice)", "Watch Live Practice"),
        (true, _) => ("check", "LIVE (Racing)", "Watch Live Racing"),
        (false, _) => ("times", "Track is Offline", "Go to Live Interface"),
    };
    w!(
        out,
        "\t<!-- Live -->\n\t<a href=\"/live/\">\n\t\t<div class=\"col-lg-3 col-md-6 col-xs-6\">\n\t\t<div class=\"panel panel-red\">\n\t\t\t<div class=\"panel-heading\">\n\t\t\t\t<div class=\"row\">\n\t\t\t\t\t<div class=\"col-xs-3\">\n\t\t\t\t\t\t<i class=\"fa fa-hourglass fa-4x\"></i>\n\t\t\t\t\t</div>\n\t\t\t\t\t<div class=\"col-xs-9 text-right\">\n\t\t\t\t\t\t<div class=\"huge\"><i class=\"fa fa-{icon}\"></i></div>\n\t\t\t\t\t\t<div class=\"stats\">\n\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t{text}\t\t\t\t\t\t\t\t\t\t\t\t\t</div>\n\t\t\t\t\t</div>\n\t\t\t\t</div>\n\t\t\t</div>\n\t\t\t<div class=\"panel-footer\">\n\t\t\t\t<span class=\"pull-left\">\n\t\t\t\t\t\t\t\t\t\t\t<u>{footer}</u>\n\t\t\t\t\t\t\t\t\t</span>\n\t\t\t\t<span class=\"pull-right\"><i class=\"fa fa-arrow-circle-right\"></i></span>\n\t\t\t\t<div class=\"clearfix\"></div>\n\t\t\t</div>\n\t\t</div>\n\t</div>\n\t</a>\n\t\n"
    );
    let month = &rec.month;
    tile(
        out,
        "/results/",
        "green",
        "list-ol",
        &thousands(month.results),
        "Results This Month",
        "View Current Event",
    );
    tile(
        out,
        "/practice/",
        "primary",
        "clock-o",
        &thousands(month.sessions),
        "Sessions This Month",
        "View Practice Sessions",
    );
    tile(
        out,
        "/videos/",
        "yellow",
        "video-camera",
        &thousands(month.videos),
        "Videos This Month",
        "Watch Videos",
    );
    out.push_str("</div>\n\n");
}

fn about(out: &mut String, rec: &TrackRecord, name: &str) {
    w!(
        out,
        "\t\t<!-- About -->\n\t\t<div class=\"panel panel-default\">\n\t\t\t<div class=\"panel-heading\"><i class=\"fa fa-flag fa-fw\"></i> About {name}</div>\n\t\t\t<div class=\"panel-body\">\n\t\t\t\t\n\t\t\t\t<div class=\"row\">\n\t\t\t\t\t<div class=\"col-sm-4\">\n"
    );
    match rec.markup {
        MarkupStyle::Raw => address_raw(out, rec, name),
        MarkupStyle::Pretty => address_pretty(out, rec, name),
    }
    out.push_str("\t\t\t\t\t</div>\n\t\t\t\t\t\n\t\t\t\t\t<div class=\"col-sm-8\">\n");
    if let Some(logo) = &rec.logo_url {
        match rec.markup {
            MarkupStyle::Raw => w!(
                out,
                "\t\t\t\t\t\t<p class=\"text-right\"><img src=\"{}\" /></p>\n",
                escape(logo)
            ),
            MarkupStyle::Pretty => w!(
                out,
                "                    <p class=\"text-right\">\n                      <img\n                        src=\"{}\"\n                      />\n                    </p>\n",
                escape(logo)
            ),
        }
    }
    out.push_str("\t\t\t\t\t\t\t\t\t\t\t</div>\n\t\t\t\t</div>\n\t\t\t\t\n");
    let lines = rec.description_lines();
    if !lines.is_empty() {
        let br = match rec.markup {
            MarkupStyle::Raw => "<br>\r\n",
            MarkupStyle::Pretty => "<br />\n                    ",
        };
        out.push_str(
            "\t\t\t\t<div class=\"row\">\n\t\t\t\t\t<div class=\"col-md-12\">\n\t\t\t\t\t\t<hr />\n\t\t\t\t\t\t",
        );
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                out.push_str(br);
            }
            escape_into(out, line);
        }
        out.push_str("\t\t\t\t\t</div>\n\t\t\t\t</div>\n");
    }
    out.push_str("\t\t\t\t\t\t\t</div>\n\t\t\t<!-- /.panel-body -->\n\t\t</div>\n\t\t\n");
}

/// The e-mail link: `noSpam('user', 'domain')` and entity-encoded text.
fn email_link(out: &mut String, email: &str, pretty: bool) {
    let (user, domain) = email.split_once('@').unwrap_or((email, ""));
    w!(
        out,
        "<a href=\"javascript:noSpam('{}', '{}');\" target=\"_blank\"",
        escape(user),
        escape(domain)
    );
    out.push_str(if pretty {
        "\n                        >"
    } else {
        ">"
    });
    entities_into(out, email);
    out.push_str(if pretty {
        "</a\n                      >"
    } else {
        "</a>"
    });
}

fn address_lines(rec: &TrackRecord) -> Vec<String> {
    [rec.street.clone(), rec.city_line(), rec.country.clone()]
        .into_iter()
        .flatten()
        .map(|line| escape(&line))
        .collect()
}

fn address_raw(out: &mut String, rec: &TrackRecord, name: &str) {
    const T7: &str = "\t\t\t\t\t\t\t";
    w!(
        out,
        "\t\t\t\t\t\t<address class=\"small\">\n{T7}<strong>{name}</strong>\n{T7}"
    );
    for line in address_lines(rec) {
        w!(out, "<br>{line}{T7}");
    }
    w!(out, "<br>\n{T7}<br><abbr title=\"Phone\">P:</abbr> ");
    match &rec.phone {
        Some(phone) => {
            let phone = escape(phone);
            w!(out, "<a href=\"tel:{phone}\">{phone}</a>");
        }
        None => out.push_str("N/A"),
    }
    w!(out, "{T7}<br><abbr title=\"Website\">W:</abbr> ");
    match &rec.website {
        Some(site) => {
            let site = escape(site);
            w!(out, "<a href=\"{site}\" target=\"_blank\">{site}</a>");
        }
        None => out.push_str("N/A"),
    }
    if rec.email.is_some() || rec.email_line {
        w!(out, "{T7}<br><abbr title=\"E-Mail\">E:</abbr> ");
        match &rec.email {
            Some(email) => email_link(out, email, false),
            None => out.push_str("N/A"),
        }
    }
    out.push_str("\t\t\t\t\t\t</address>\n");
}

fn address_pretty(out: &mut String, rec: &TrackRecord, name: &str) {
    const I: &str = "                      ";
    w!(
        out,
        "                    <address class=\"small\">\n{I}<strong>{name}</strong>\n{I}"
    );
    for line in address_lines(rec) {
        w!(out, "<br />{line} ");
    }
    w!(out, "<br />\n{I}<br /><abbr title=\"Phone\">P:</abbr>");
    match &rec.phone {
        Some(phone) => {
            let phone = escape(phone);
            w!(out, "\n{I}<a href=\"tel:{phone}\">{phone}</a> ");
        }
        None => out.push_str(" N/A "),
    }
    w!(
        out,
        "<br /><abbr title=\"Website\"\n{I}  >W:</abbr\n{I}>\n{I}"
    );
    match &rec.website {
        Some(site) => {
            let site = escape(site);
            w!(
                out,
                "<a href=\"{site}\" target=\"_blank\"\n{I}  >{site}</a\n{I}>\n{I}"
            );
        }
        None => w!(out, "N/A\n{I}"),
    }
    if rec.email.is_some() || rec.email_line {
        out.push_str("<br /><abbr title=\"E-Mail\">E:</abbr>\n");
        out.push_str(I);
        match &rec.email {
            Some(email) => email_link(out, email, true),
            None => out.push_str("N/A"),
        }
        out.push('\n');
    }
    out.push_str("                    </address>\n");
}

fn map(out: &mut String, rec: &TrackRecord) {
    let Some(query) = rec.map_query() else {
        return;
    };
    let query = escape(&query);
    out.push_str("\t\t<!-- Track Map -->\n\t\t<div class=\"panel panel-default\">\n\t\t\t<div class=\"panel-heading\"><i class=\"fa fa-map-marker fa-fw\"></i> Track Map</div>\n\t\t\t<div class=\"panel-body no-padding\">\n");
    match rec.markup {
        MarkupStyle::Raw => w!(
            out,
            "\t\t\t\t<iframe width=\"100%\" onload=\"$(this).css('height', ($(this).width()*.6)+'px');\" frameborder=\"0\" style=\"border: 0\" src=\"https://www.google.com/maps/embed/v1/place?key={MAPS_KEY}&q={query}\" allowfullscreen></iframe>\n"
        ),
        MarkupStyle::Pretty => w!(
            out,
            "                <iframe\n                  width=\"100%\"\n                  onload=\"$(this).css('height', $(this).width() * 0.6 + 'px')\"\n                  frameborder=\"0\"\n                  style=\"border: 0\"\n                  src=\"https://www.google.com/maps/embed/v1/place?key={MAPS_KEY}&q={query}\"\n                  allowfullscreen\n                ></iframe>\n"
        ),
    }
    out.push_str("\t\t\t</div>\n\t\t\t<!-- /.panel-body -->\n\t\t</div>\n\t\t\n");
}

fn lifetime(out: &mut String, rec: &TrackRecord) {
    out.push_str("\t\t<!-- Lifetime Track Stats -->\n\t\t<div class=\"panel panel-default\">\n\t\t\t<div class=\"panel-heading\"><i class=\"fa fa-line-chart fa-fw\"></i> Lifetime Track Stats</div>\n\t\t\t<div class=\"panel-body no_padding\">\n\t\t\t\t\n\t\t\t\t<table class=\"table\">\n\t\t\t\t\t<tbody>\n");
    let s = &rec.stats;
    for (label, value) in [
        ("Laps", s.laps),
        ("Practice Sessions", s.practice_sessions),
        ("Races", s.races),
        ("Entries", s.entries),
        ("Events", s.events),
    ] {
        w!(
            out,
            "\t\t\t\t\t\t<tr>\n\t\t\t\t\t\t\t<th>{label}</th>\n\t\t\t\t\t\t\t<td class=\"text-right\">{}</td>\n\t\t\t\t\t\t</tr>\n",
            thousands(value)
        );
    }
    out.push_str(
        "\t\t\t\t\t</tbody>\n\t\t\t\t</table>\n\t\t\t\t\n\t\t\t</div>\n\t\t</div>\n\t\t\n",
    );
}

fn facebook(out: &mut String, rec: &TrackRecord, name: &str) {
    out.push_str("\t\t<!-- Facebook -->\n");
    let Some(url) = &rec.facebook_url else {
        return;
    };
    let url = escape(url);
    match rec.facebook_style {
        FacebookStyle::Feed => w!(
            out,
            "\t\t<div class=\"panel panel-default\">\n\t\t\t<div class=\"panel-heading\"><i class=\"fa fa-facebook-square fa-fw\"></i> Facebook Feed</div>\n\t\t\t<div class=\"panel-body no-padding\">\n\t\t\t\t<div class=\"fb-page\" data-width=\"500px\" data-height=\"800px\" data-href=\"{url}\" data-tabs=\"timeline\" data-small-header=\"false\" data-adapt-container-width=\"true\" data-hide-cover=\"false\" data-show-facepile=\"true\"><blockquote cite=\"{url}\" class=\"fb-xfbml-parse-ignore\"><a href=\"{url}\">{name}</a></blockquote></div>\n\t\t\t</div>\n\t\t\t<!-- /.panel-body -->\n\t\t</div>\n"
        ),
        FacebookStyle::Page => w!(
            out,
            "\t\t<div class=\"panel panel-default\">\n\t\t\t<div class=\"panel-heading\"><i class=\"fa fa-facebook-square fa-fw\"></i> Facebook Page</div>\n\t\t\t<div class=\"panel-body no-padding\">\n\t\t\t\t<p class=\"padding_container\"><a href=\"{url}\" target=\"_blank\">{url}</a></p>\n\t\t\t</div>\n\t\t\t<!-- /.panel-body -->\n\t\t</div>\n"
        ),
    }
}

// ---------------------------------------------------------------------------
// catalogue

/// One track row of the catalogue.
pub(crate) struct Row<'a> {
    pub(crate) slug: &'a str,
    pub(crate) name: &'a str,
    pub(crate) listing: &'a Listing,
}

/// A catalogue row the parser must skip, see [`DECOYS`].
pub(crate) struct Decoy {
    /// The row's `data-href`.
    pub(crate) href: &'static str,
    /// The name link's href.
    pub(crate) link: &'static str,
    pub(crate) name: &'static str,
}

/// Rows the real parser must skip: site infrastructure and a foreign host.
pub(crate) const DECOYS: [Decoy; 3] = [
    Decoy {
        href: "//www.liverc.com/results/",
        link: "//www.liverc.com/",
        name: "LiveRC News & Updates",
    },
    Decoy {
        href: "//www.rcracing-mirror.example/results/",
        link: "//www.rcracing-mirror.example/",
        name: "Mirror Raceway (not LiveRC)",
    },
    Decoy {
        href: "//forum.liverc.com/live/",
        link: "//forum.liverc.com/",
        name: "LiveRC Forum",
    },
];

/// The page before the first table row.
pub(crate) fn catalogue_head(out: &mut String) {
    out.push_str(HEAD_START);
    out.push_str("LiveRC :: Watch Live R/C Car Racing with Scoring and Video :: LiveRC");
    out.push_str(HEAD_END);
    out.push_str(NAV_END);
    out.push_str("\t\t\t\t<script>\n\t\t\t\t\t$(document).ready(function() {\n\t\t\t\t\t\t$('.track_list').DataTable({ responsive: false, paging: true, pageLength: 100, filter: true, sort: false, info: false });\n\t\t\t\t\t});\n\t\t\t\t</script>\n\t\t\t\t\n<div class=\"row page-breadcrumb\">\n\t<div class=\"col-lg-12\">\n\t\t<h1 class=\"page-header\"><span class=\"fa fa-road\"></span> Track List</h1>\n\t</div>\n</div>\n\n<div class=\"row\">\n\t<div class=\"col-lg-6\">\n\t\t<div class=\"panel panel-default\">\n\t\t\t<div class=\"panel-heading\"><i class=\"fa fa-road fa-fw\"></i> Tracks</div>\n\t\t\t<div class=\"panel-body no_padding\">\n\t\t\t\t<ul class=\"list-inline padding_container\">\n\t\t\t\t\t<li><i class=\"fa fa-video-camera fa-fw status_video_1\"></i> Live Video</li>\n\t\t\t\t\t<li><i class=\"fa fa-star fa-fw status_featured\"></i> Featured Event</li>\n\t\t\t\t\t<li><i class=\"fa fa-flag-checkered fa-fw status_2\"></i> Racing in Progress</li>\n\t\t\t\t\t<li><i class=\"fa fa-clock-o fa-fw status_1\"></i> Open Practicing</li>\n\t\t\t\t\t<li><i class=\"fa fa-power-off fa-fw\"></i> No Track Activity</li>\n\t\t\t\t</ul>\n\t\t\t\t\n\t\t\t\t<div class=\"table-responsive\">\n\t\t\t\t\t<table class=\"table table-striped track_list\" cellspacing=\"0\" width=\"100%\">\n\t\t\t\t\t\t<thead>\n\t\t\t\t\t\t\t<tr>\n\t\t\t\t\t\t\t\t<th class=\"col_min\">Status</th>\n\t\t\t\t\t\t\t\t<th>Track Name</th>\n\t\t\t\t\t\t\t</tr>\n\t\t\t\t\t\t</thead>\n\t\t\t\t\t\t<tfoot>\n\t\t\t\t\t\t\t<tr>\n\t\t\t\t\t\t\t\t<th>Status</th>\n\t\t\t\t\t\t\t\t<th>Track Name</th>\n\t\t\t\t\t\t\t</tr>\n\t\t\t\t\t\t</tfoot>\n\t\t\t\t\t\t<tbody>\n");
}

/// The page after the last table row.
pub(crate) fn catalogue_tail(out: &mut String) {
    out.push_str("\t\t\t\t\t\t</tbody>\n\t\t\t\t\t</table>\n\t\t\t\t</div>\n\t\t\t</div>\n\t\t</div>\n\t</div>\n</div>\n\n");
    out.push_str(PAGE_END);
}

fn status_icon_class(status: StatusIcon) -> &'static str {
    match status {
        StatusIcon::Idle => "fa fa-power-off fa-fw status_0",
        StatusIcon::Practicing => "fa fa-clock-o fa-fw status_1",
        StatusIcon::Racing => "fa fa-flag-checkered fa-fw status_2",
    }
}

/// Appends one track row.
pub(crate) fn catalogue_row(out: &mut String, row: &Row<'_>) {
    let listing = row.listing;
    let scheme = match listing.href_style {
        HrefStyle::ProtocolRelative => "",
        HrefStyle::Https => "https:",
    };
    let base = format!("{scheme}//{}.liverc.com/", row.slug);
    let section = if listing.live { "live/" } else { "results/" };
    let href = format!("{base}{section}");
    let video = u8::from(listing.live_video);
    let status = status_icon_class(listing.status);
    let name = escape(row.name);
    let text = escape(&listing.last_updated_text);
    match listing.markup {
        MarkupStyle::Raw => {
            w!(
                out,
                "\t\t\t\t\t\t\t<tr class=\"clickable-row\" data-href=\"{href}\">\n\t\t\t\t\t\t\t\t<td class=\"text-nowrap\">\n\t\t\t\t\t\t\t\t\t<i class=\"fa fa-video-camera fa-fw status_video_{video}\"></i>\n\t\t\t\t\t\t\t\t\t<i class=\"{status}\"></i>\n"
            );
            if listing.featured {
                out.push_str(
                    "\t\t\t\t\t\t\t\t\t<i class=\"fa fa-star fa-fw status_featured\"></i>\n",
                );
            }
            w!(
                out,
                "\t\t\t\t\t\t\t\t\t<br><small><small>{text}</small></small>\n\t\t\t\t\t\t\t\t</td>\n\t\t\t\t\t\t\t\t<td>\n\t\t\t\t\t\t\t\t\t<span class=\"hidden\">seRC</span><a href=\"{base}\"><strong>{name}</strong></a>\n"
            );
            if let Some(event) = &listing.current_event {
                w!(
                    out,
                    "\t\t\t\t\t\t\t\t\t<div class=\"indent\"><small>{}</small></div>\n",
                    escape(event)
                );
            }
            out.push_str("\t\t\t\t\t\t\t\t</td>\n\t\t\t\t\t\t\t</tr>\n");
        }
        MarkupStyle::Pretty => {
            const I: &str = "                      ";
            w!(
                out,
                "{I}<tr\n{I}  class=\"clickable-row\"\n{I}  data-href=\"{href}\"\n{I}>\n{I}  <td class=\"text-nowrap\">\n{I}    <i class=\"fa fa-video-camera fa-fw status_video_{video}\"></i>\n{I}    <i class=\"{status}\"></i>\n"
            );
            if listing.featured {
                w!(
                    out,
                    "{I}    <i class=\"fa fa-star fa-fw status_featured\"></i>\n"
                );
            }
            w!(
                out,
                "{I}    <br /><small><small>{text}</small></small>\n{I}  </td>\n{I}  <td>\n{I}    <span class=\"hidden\">seRC</span\n{I}    ><a href=\"{base}\"\n{I}      ><strong>{name}</strong></a\n{I}    >\n"
            );
            if let Some(event) = &listing.current_event {
                w!(
                    out,
                    "{I}    <div class=\"indent\">\n{I}      <small>{}</small>\n{I}    </div>\n",
                    escape(event)
                );
            }
            w!(out, "{I}  </td>\n{I}</tr>\n");
        }
    }
}

/// Appends a decoy row (see [`DECOYS`]).
pub(crate) fn decoy_row(out: &mut String, decoy: &Decoy) {
    w!(
        out,
        "\t\t\t\t\t\t\t<tr class=\"clickable-row\" data-href=\"{}\">\n\t\t\t\t\t\t\t\t<td class=\"text-nowrap\">\n\t\t\t\t\t\t\t\t\t<i class=\"fa fa-video-camera fa-fw status_video_0\"></i>\n\t\t\t\t\t\t\t\t\t<i class=\"fa fa-power-off fa-fw status_0\"></i>\n\t\t\t\t\t\t\t\t\t<br><small><small>last month</small></small>\n\t\t\t\t\t\t\t\t</td>\n\t\t\t\t\t\t\t\t<td>\n\t\t\t\t\t\t\t\t\t<span class=\"hidden\">seRC</span><a href=\"{}\"><strong>{}</strong></a>\n\t\t\t\t\t\t\t\t</td>\n\t\t\t\t\t\t\t</tr>\n",
        decoy.href,
        decoy.link,
        escape(decoy.name)
    );
}

/// A short error page for a status code.
pub(crate) fn error_page(status: u16, reason: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><title>{status} {reason}</title></head><body><h1>{status} {reason}</h1><p>liverc-sim</p></body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_the_five_characters() {
        assert_eq!(
            escape(r#"R&R <Bob's> "RC""#),
            "R&amp;R &lt;Bob&#39;s&gt; &quot;RC&quot;"
        );
        assert_eq!(escape("Montréal"), "Montréal");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(6_753_663), "6,753,663");
        assert_eq!(thousands(115_168), "115,168");
    }

    #[test]
    fn email_entities_like_the_real_site() {
        let mut out = String::new();
        entities_into(&mut out, "info@cormcc.org");
        assert_eq!(
            out,
            "&#105;&#110;&#102;&#111;&#64;&#99;&#111;&#114;&#109;&#99;&#99;&#46;&#111;&#114;&#103;"
        );
    }
}
