//! The bodies a webhook receives, pure functions of an [`Alert`]: Slack's
//! `{"text", "blocks"}` shape, or the alert as camelCase JSON with `event`
//! and `service` added. Every string that came from a run (error texts can
//! quote scraped pages) is escaped for Slack's mrkdwn and cut to Slack's
//! block limits, so no alert is rejected for its content.

use ingest_core::{Alert, AlertKind, NotifyError};
use serde::Serialize;
use serde_json::{Value, json};

use crate::config::WebhookFormat;

/// The `service` field of the generic body.
pub const SERVICE_NAME: &str = "liverc-ingestion";

/// Slack refuses a section text longer than 3,000 characters.
const SECTION_TEXT_LIMIT: usize = 3_000;
/// …and a section field longer than 2,000.
const FIELD_TEXT_LIMIT: usize = 2_000;
/// The notification text is shown in one line; keep it short.
const FALLBACK_TEXT_LIMIT: usize = 500;

/// The JSON body for `alert` in `format`.
pub fn payload(format: WebhookFormat, alert: &Alert) -> Result<Value, NotifyError> {
    match format {
        WebhookFormat::Slack => Ok(slack_payload(alert)),
        WebhookFormat::Generic => generic_payload(alert),
    }
}

/// The generic body: the alert's own camelCase serialisation plus
/// `"event": "<kind>"` and `"service": "liverc-ingestion"`.
fn generic_payload(alert: &Alert) -> Result<Value, NotifyError> {
    #[derive(Serialize)]
    struct Generic<'a> {
        event: &'static str,
        service: &'static str,
        #[serde(flatten)]
        alert: &'a Alert,
    }
    serde_json::to_value(Generic {
        event: alert.kind.as_str(),
        service: SERVICE_NAME,
        alert,
    })
    .map_err(|e| NotifyError(format!("cannot serialise the alert: {e}")))
}

/// Slack's incoming-webhook body: `text` (the notification line) and
/// `blocks` (a title, the figures as fields, the detail, the report link).
fn slack_payload(alert: &Alert) -> Value {
    let (emoji, title) = title(alert.kind);
    let text = escape_within(
        &format!(
            "{emoji} {title}: {} ({}, {}): {}",
            alert.source,
            alert.trigger,
            alert.kind.as_str(),
            alert.summary
        ),
        FALLBACK_TEXT_LIMIT,
    );
    let field = |name: &str, value: String| {
        json!({
            "type": "mrkdwn",
            "text": truncate(&format!("*{name}*\n{value}"), FIELD_TEXT_LIMIT),
        })
    };
    let mut blocks = vec![
        section(format!(
            "{emoji} *{title}*\n{}",
            escape_within(&alert.summary, SECTION_TEXT_LIMIT - 64)
        )),
        json!({
            "type": "section",
            "fields": [
                field("Kind", format!("`{}`", alert.kind.as_str())),
                field("Source", escape_within(&alert.source, 256)),
                field("Trigger", escape_within(&alert.trigger, 256)),
                field("Duration", format_duration(alert.duration_seconds)),
                field("Run ID", format!("`{}`", alert.run_id)),
                field(
                    "Occurred at",
                    alert
                        .occurred_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                ),
            ],
        }),
    ];
    if let Some(detail) = alert.detail.as_deref().filter(|d| !d.trim().is_empty()) {
        // A fence inside the detail would end the code block early; the
        // zero-width space breaks it. The heading and fence take 20
        // characters of the section's limit, the breaks a few more.
        let body = escape_within(detail, SECTION_TEXT_LIMIT - 64).replace("```", "`\u{200b}``");
        blocks.push(section(format!("*Detail*\n```{body}```")));
    }
    if let Some(url) = alert.report_url.as_deref().filter(|u| !u.trim().is_empty()) {
        blocks.push(section(format!(
            "<{}|Open the run report>",
            escape_within(url.trim(), SECTION_TEXT_LIMIT - 32).replace('|', "%7C")
        )));
    }
    json!({ "text": text, "blocks": blocks })
}

fn section(text: String) -> Value {
    json!({
        "type": "section",
        "text": { "type": "mrkdwn", "text": truncate(&text, SECTION_TEXT_LIMIT) },
    })
}

fn title(kind: AlertKind) -> (&'static str, &'static str) {
    match kind {
        AlertKind::JobFailed => (":x:", "Track sync failed"),
        AlertKind::GuardRefused => (":warning:", "Deactivation guard refused"),
        AlertKind::SlaBreached => (":hourglass:", "Track sync exceeded its SLA"),
        AlertKind::DriftSuspected => (":mag:", "Markup drift suspected: fields held"),
        AlertKind::MassChange => (":twisted_rightwards_arrows:", "Mass change of a field"),
    }
}

/// `text` with Slack's three control characters escaped (everything else is
/// shown as written), at most `limit` characters long: when cut, it ends on
/// a whole escape and an ellipsis.
fn escape_within(text: &str, limit: usize) -> String {
    let mut out = String::with_capacity(text.len().min(limit));
    let mut used = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let piece = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            _ => "",
        };
        let width = if piece.is_empty() { 1 } else { piece.len() };
        // Keep one character for the ellipsis unless this is the last one.
        let reserve = usize::from(chars.peek().is_some());
        if used + width + reserve > limit {
            out.push('…');
            return out;
        }
        if piece.is_empty() {
            out.push(c);
        } else {
            out.push_str(piece);
        }
        used += width;
    }
    out
}

/// At most `limit` characters, the last one an ellipsis when cut.
pub(crate) fn truncate(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(limit.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `42.5 s`, `3 min 05 s`, `1 h 02 min 09 s`.
pub(crate) fn format_duration(seconds: f64) -> String {
    let seconds = if seconds.is_finite() && seconds > 0.0 {
        seconds
    } else {
        0.0
    };
    if seconds < 60.0 {
        return format!("{seconds:.1} s");
    }
    // Whole seconds from here on; a float this size fits u64 comfortably.
    let total = seconds.round().min(u64::MAX as f64) as u64;
    let (h, m, s) = (total / 3600, total % 3600 / 60, total % 60);
    if h == 0 {
        format!("{m} min {s:02} s")
    } else {
        format!("{h} h {m:02} min {s:02} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_clock() {
        assert_eq!(format_duration(0.0), "0.0 s");
        assert_eq!(format_duration(-3.0), "0.0 s");
        assert_eq!(format_duration(f64::NAN), "0.0 s");
        assert_eq!(format_duration(42.46), "42.5 s");
        assert_eq!(format_duration(59.94), "59.9 s");
        assert_eq!(format_duration(185.0), "3 min 05 s");
        assert_eq!(format_duration(3729.4), "1 h 02 min 09 s");
        assert_eq!(format_duration(90_000.0), "25 h 00 min 00 s");
    }

    #[test]
    fn truncation_counts_characters_not_bytes() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("ééééé", 5), "ééééé");
        assert_eq!(truncate("éééééé", 5), "éééé…");
        assert_eq!(truncate("abc", 0), "…");
    }

    #[test]
    fn slack_control_characters_are_escaped_and_never_cut_in_half() {
        assert_eq!(escape_within("<b> & <i>", 100), "&lt;b&gt; &amp; &lt;i&gt;");
        assert_eq!(escape_within("a&b", 5), "a…");
        assert_eq!(escape_within("a&b", 7), "a&amp;b");
        assert_eq!(escape_within("abc", 3), "abc");
        assert_eq!(escape_within("abcd", 3), "ab…");
        for limit in 1..30 {
            let out = escape_within("x<y & z>w <<>> &&", limit);
            assert!(out.chars().count() <= limit, "{limit}: {out}");
            // Every `&` starts a whole escape.
            for (i, _) in out.match_indices('&') {
                let rest = &out[i..];
                assert!(
                    ["&amp;", "&lt;", "&gt;"]
                        .iter()
                        .any(|e| rest.starts_with(e)),
                    "{limit}: {out}"
                );
            }
            assert!(!out.trim_end_matches('…').contains(['<', '>']), "{out}");
        }
    }
}
