//! Shields-style "flat" SVG badges (`/badge/<app>.svg`): a grey label on the
//! left, a coloured message on the right, each as wide as its text.
//!
//! No font is available on the server, so text widths are estimated from a
//! table of Verdana 11px advance widths; `textLength` then makes viewers
//! stretch the text to exactly the estimated width, so the estimate never
//! shows as clipped or loose text.

use crate::report::forge::StatusState;
use std::fmt::Write;

/// Horizontal padding on each side of a text, in px.
const PADDING: f64 = 5.0;

/// Colour of the message half of a badge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BadgeColor {
    /// Deployed and healthy: green.
    Success,
    /// Failed or rolled back: red.
    Failure,
    /// Pending or in progress: yellow.
    Pending,
    /// Nothing known yet: grey.
    Unknown,
}

impl BadgeColor {
    /// The fill colour.
    pub fn hex(self) -> &'static str {
        match self {
            BadgeColor::Success => "#4c1",
            BadgeColor::Failure => "#e05d44",
            BadgeColor::Pending => "#dfb317",
            BadgeColor::Unknown => "#9f9f9f",
        }
    }
}

impl From<StatusState> for BadgeColor {
    fn from(state: StatusState) -> Self {
        match state {
            StatusState::Pending => BadgeColor::Pending,
            StatusState::Success => BadgeColor::Success,
            StatusState::Failure | StatusState::Error => BadgeColor::Failure,
        }
    }
}

/// Advance widths of printable ASCII (0x20..=0x7e) in Verdana at 11px.
#[rustfmt::skip]
const ASCII_WIDTHS: [f64; 95] = [
    // space ! " # $ % & ' ( ) * + , - . /
    3.87, 4.33, 5.05, 9.00, 7.00, 11.84, 7.99, 2.95, 4.99, 4.99, 7.00, 9.00, 4.00, 4.99, 4.00, 4.99,
    // 0-9
    7.00, 7.00, 7.00, 7.00, 7.00, 7.00, 7.00, 7.00, 7.00, 7.00,
    // : ; < = > ? @
    4.99, 4.99, 9.00, 9.00, 9.00, 5.99, 11.00,
    // A-Z
    7.52, 7.54, 7.68, 8.48, 6.96, 6.32, 8.53, 8.27, 4.63, 5.00, 7.62, 6.12, 9.27,
    8.23, 8.66, 6.63, 8.66, 7.65, 7.52, 6.78, 8.05, 7.52, 10.87, 7.54, 6.77, 7.54,
    // [ \ ] ^ _ `
    4.99, 4.99, 4.99, 9.00, 7.00, 7.00,
    // a-z
    6.61, 6.85, 5.73, 6.85, 6.55, 3.87, 6.85, 6.96, 3.02, 3.79, 6.51, 3.02, 10.70,
    6.96, 6.68, 6.85, 6.85, 4.69, 5.73, 4.33, 6.96, 6.51, 8.98, 6.51, 6.51, 5.78,
    // { | } ~
    6.98, 4.99, 6.98, 9.00,
];

fn char_width(c: char) -> f64 {
    match c {
        ' '..='~' => ASCII_WIDTHS[c as usize - 0x20],
        '·' => 4.00,
        '…' => 11.00,
        // CJK, Hangul and fullwidth forms take a full em.
        '\u{1100}'..='\u{115f}' | '\u{2e80}'..='\u{a4cf}' | '\u{ac00}'..='\u{d7a3}' => 11.00,
        '\u{f900}'..='\u{faff}' | '\u{ff00}'..='\u{ff60}' => 11.00,
        _ => 7.00,
    }
}

/// Estimated rendered width of `text` in Verdana 11px.
pub fn text_width(text: &str) -> f64 {
    text.chars().map(char_width).sum()
}

/// Escapes text for XML content and attribute values, dropping control
/// characters XML 1.0 cannot carry at all.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Renders a badge such as `tranche | deployed` (green).
pub fn render_badge(label: &str, message: &str, color: BadgeColor) -> String {
    let label_text = text_width(label);
    let message_text = text_width(message);
    let label_width = (label_text + 2.0 * PADDING).ceil();
    let message_width = (message_text + 2.0 * PADDING).ceil();
    let width = label_width + message_width;
    let label = escape(label);
    let message = escape(message);
    let color = color.hex();
    let font = "Verdana,Geneva,DejaVu Sans,sans-serif";

    let mut svg = String::with_capacity(1200);
    // write! into a String cannot fail.
    let _ = write!(
        svg,
        concat!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="20" role="img" aria-label="{l}: {m}">"##,
            r##"<title>{l}: {m}</title>"##,
            r##"<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>"##,
            r##"<clipPath id="r"><rect width="{w}" height="20" rx="3" fill="#fff"/></clipPath>"##,
            r##"<g clip-path="url(#r)"><rect width="{lw}" height="20" fill="#555"/><rect x="{lw}" width="{mw}" height="20" fill="{c}"/><rect width="{w}" height="20" fill="url(#s)"/></g>"##,
            r##"<g fill="#fff" text-anchor="middle" font-family="{f}" text-rendering="geometricPrecision" font-size="11">"##,
        ),
        w = width,
        lw = label_width,
        mw = message_width,
        l = label,
        m = message,
        c = color,
        f = font,
    );
    push_text(&mut svg, label_width / 2.0, label_text, &label);
    push_text(
        &mut svg,
        label_width + message_width / 2.0,
        message_text,
        &message,
    );
    svg.push_str("</g></svg>");
    svg
}

/// One text with its drop shadow, centred at `x`.
fn push_text(svg: &mut String, x: f64, length: f64, escaped: &str) {
    let _ = write!(
        svg,
        concat!(
            r##"<text aria-hidden="true" x="{x:.1}" y="15" fill="#010101" fill-opacity=".3" textLength="{n:.1}">{t}</text>"##,
            r##"<text x="{x:.1}" y="14" textLength="{n:.1}">{t}</text>"##,
        ),
        x = x,
        n = length,
        t = escaped,
    );
}

#[cfg(test)]
mod tests;
