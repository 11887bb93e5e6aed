//! Badge rendering checks, including a small XML well-formedness checker
//! (enough for the SVG we emit: elements, quoted attributes, entities).

use super::*;

/// Checks that `text` uses `&` only to start one of XML's entities.
fn check_entities(text: &str) -> Result<(), String> {
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        let tail = &rest[i..];
        let end = tail
            .find(';')
            .ok_or_else(|| format!("unterminated entity in {text:?}"))?;
        let entity = &tail[1..end];
        let known = matches!(entity, "amp" | "lt" | "gt" | "quot" | "apos")
            || (entity.starts_with('#') && entity[1..].chars().all(|c| c.is_ascii_digit()));
        if !known {
            return Err(format!("unknown entity &{entity}; in {text:?}"));
        }
        rest = &tail[end + 1..];
    }
    Ok(())
}

/// Parses `name="v" other='w'` (plus a trailing `/`), checking the values.
fn check_attributes(mut attrs: &str) -> Result<(), String> {
    let mut names = Vec::new();
    loop {
        attrs = attrs.trim_start();
        if attrs.is_empty() {
            return Ok(());
        }
        let eq = attrs
            .find('=')
            .ok_or_else(|| format!("attribute without value: {attrs:?}"))?;
        let name = attrs[..eq].trim();
        if name.is_empty() || name.contains(char::is_whitespace) || names.contains(&name) {
            return Err(format!("bad or repeated attribute name {name:?}"));
        }
        names.push(name);
        let after = &attrs[eq + 1..];
        let quote = after.chars().next().filter(|q| *q == '"' || *q == '\'');
        let quote = quote.ok_or_else(|| format!("unquoted value for {name}"))?;
        let close = after[1..]
            .find(quote)
            .ok_or_else(|| format!("unclosed value for {name}"))?;
        let value = &after[1..1 + close];
        if value.contains('<') {
            return Err(format!("raw < in value of {name}"));
        }
        check_entities(value)?;
        attrs = &after[close + 2..];
    }
}

/// A well-formedness check: one root, tags balanced, attributes quoted,
/// entities valid, no raw `<` in text.
fn well_formed(xml: &str) -> Result<(), String> {
    let mut stack: Vec<&str> = Vec::new();
    let mut roots = 0;
    let mut rest = xml;
    while let Some(open) = rest.find('<') {
        let text = &rest[..open];
        if stack.is_empty() && !text.trim().is_empty() {
            return Err(format!("text outside the root: {text:?}"));
        }
        check_entities(text)?;
        let mut in_quote = None;
        let mut close = None;
        for (i, c) in rest[open..].char_indices() {
            match (in_quote, c) {
                (None, '"' | '\'') => in_quote = Some(c),
                (Some(q), c) if c == q => in_quote = None,
                (None, '>') => {
                    close = Some(open + i);
                    break;
                }
                _ => {}
            }
        }
        let close = close.ok_or("unterminated tag")?;
        let tag = &rest[open + 1..close];
        if let Some(name) = tag.strip_prefix('/') {
            match stack.pop() {
                Some(top) if top == name.trim() => {}
                top => return Err(format!("</{name}> closes {top:?}")),
            }
        } else {
            let self_closing = tag.ends_with('/');
            let body = tag.trim_end_matches('/');
            let name_end = body.find(char::is_whitespace).unwrap_or(body.len());
            let name = &body[..name_end];
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_alphanumeric() || "-_:".contains(c))
            {
                return Err(format!("bad element name {name:?}"));
            }
            check_attributes(&body[name_end..])?;
            if stack.is_empty() {
                roots += 1;
            }
            if !self_closing {
                stack.push(name);
            }
        }
        rest = &rest[close + 1..];
    }
    if !rest.trim().is_empty() || !stack.is_empty() || roots != 1 {
        return Err(format!(
            "unbalanced document: open {stack:?}, {roots} roots"
        ));
    }
    Ok(())
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn between<'a>(svg: &'a str, open: &str, close: &str) -> &'a str {
    let start = svg.find(open).unwrap() + open.len();
    let end = svg[start..].find(close).unwrap() + start;
    &svg[start..end]
}

fn svg_width(svg: &str) -> f64 {
    between(svg, "width=\"", "\"").parse().unwrap()
}

#[test]
fn checker_rejects_broken_xml() {
    assert!(well_formed("<a><b/></a>").is_ok());
    assert!(well_formed("<a><b></a>").is_err());
    assert!(well_formed("<a x=1/>").is_err());
    assert!(well_formed("<a>&</a>").is_err());
    assert!(well_formed("<a x=\"<\"/>").is_err());
    assert!(well_formed("<a/><b/>").is_err());
}

#[test]
fn badge_is_well_formed_svg_with_title() {
    let svg = render_badge("tranche", "deployed", BadgeColor::Success);
    well_formed(&svg).unwrap();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_eq!(between(&svg, "<title>", "</title>"), "tranche: deployed");
    assert!(svg.contains("fill=\"#4c1\""));
}

#[test]
fn markup_characters_are_escaped() {
    let nasty = r#"<script>&"quotes"'</script>"#;
    let svg = render_badge(nasty, "a&b", BadgeColor::Failure);
    well_formed(&svg).unwrap();
    assert!(!svg.contains("<script>"));
    assert_eq!(
        unescape(between(&svg, "<title>", "</title>")),
        format!("{nasty}: a&b")
    );
    assert!(svg.contains("&lt;script&gt;&amp;&quot;quotes&quot;&apos;&lt;/script&gt;"));
}

#[test]
fn control_characters_are_dropped() {
    let svg = render_badge("app\u{0}\u{1b}", "ok\nnow", BadgeColor::Unknown);
    well_formed(&svg).unwrap();
    assert!(!svg.contains('\u{0}') && !svg.contains('\u{1b}'));
    assert_eq!(between(&svg, "<title>", "</title>"), "app: ok now");
}

#[test]
fn wider_text_makes_a_wider_badge() {
    let short = render_badge("shop", "ok", BadgeColor::Success);
    let long = render_badge("shop", "rolled back: prod-b", BadgeColor::Failure);
    assert!(svg_width(&long) > svg_width(&short) + 50.0);
    // W is wider than i in Verdana; the estimate must follow.
    assert!(text_width("WWWW") > text_width("iiii") * 2.0);
    assert!(svg_width(&render_badge("", "", BadgeColor::Unknown)) >= 20.0);
}

#[test]
fn colours_follow_status_states() {
    assert_eq!(BadgeColor::from(StatusState::Pending).hex(), "#dfb317");
    assert_eq!(BadgeColor::from(StatusState::Error).hex(), "#e05d44");
    assert_eq!(BadgeColor::from(StatusState::Success).hex(), "#4c1");
    assert_eq!(BadgeColor::Unknown.hex(), "#9f9f9f");
}

#[test]
fn message_sits_right_of_label() {
    let svg = render_badge("tranche", "pending", BadgeColor::Pending);
    let xs: Vec<f64> = svg
        .match_indices("<text ")
        .map(|(i, _)| between(&svg[i..], "x=\"", "\"").parse().unwrap())
        .collect();
    assert_eq!(xs.len(), 4);
    assert!(xs[0] < xs[2] && xs[2] < svg_width(&svg));
}
