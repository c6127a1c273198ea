//! Text and address helpers every reader needs: HTML to plain text, paths
//! as browsers send them, slugs made unique.

use std::collections::HashSet;

use super::decode_entities;

/// Takes `wanted`, else `wanted-2`, `wanted-3`… — the first not in `used`,
/// which then holds it.
pub fn claim_unique(wanted: &str, used: &mut HashSet<String>) -> String {
    let slug = if used.contains(wanted) {
        (2..)
            .map(|n| format!("{wanted}-{n}"))
            .find(|s| !used.contains(s))
            .unwrap_or_else(|| wanted.to_owned())
    } else {
        wanted.to_owned()
    };
    used.insert(slug.clone());
    slug
}

/// `%XX` escapes decoded (as UTF-8; a bad sequence becomes U+FFFD).
pub fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// A path as a URL holds it (characters outside the path set escaped).
pub fn url_path(path: &str) -> String {
    let mut url = url::Url::parse("http://old.invalid/").expect("a valid URL");
    url.set_path(path);
    url.path().to_owned()
}

/// Percent-encodes what a browser encodes in a path (WHATWG path set:
/// controls, space, `"#<>?`{}` and every non-ASCII byte), so the address
/// matches what readers' browsers request.
pub fn encode_path(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if !(0x21..0x7f).contains(&b) || b"\"#<>?`{}".contains(&b) {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(b as char);
        }
    }
    out
}

/// HTML as typed (a transcript) to plain text: tags dropped, entities
/// decoded, whitespace collapsed as a browser does, one line per paragraph,
/// list item, heading or `<br>`.
pub fn html_to_text(html: &str) -> String {
    const BLOCKS: &[&str] = &[
        "p",
        "div",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "table",
        "blockquote",
        "pre",
        "hr",
        "dd",
        "dt",
        "dl",
        "section",
        "article",
        "header",
        "footer",
        "figure",
        "figcaption",
    ];
    let mut lines: Vec<String> = vec![String::new()];
    let mut in_pre = 0usize;
    let mut rest = html;
    let push_text = |lines: &mut Vec<String>, raw: &str, pre: bool| {
        let decoded = decode_entities(raw);
        if pre {
            for (i, part) in decoded.split('\n').enumerate() {
                if i > 0 {
                    lines.push(String::new());
                }
                lines.last_mut().expect("one line at least").push_str(part);
            }
            return;
        }
        let line = lines.last_mut().expect("one line at least");
        for c in decoded.chars() {
            if c.is_whitespace() && c != '\u{a0}' {
                if !line.is_empty() && !line.ends_with(' ') {
                    line.push(' ');
                }
            } else {
                line.push(if c == '\u{a0}' { ' ' } else { c });
            }
        }
    };
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            push_text(&mut lines, rest, in_pre > 0);
            break;
        };
        push_text(&mut lines, &rest[..lt], in_pre > 0);
        let after = &rest[lt + 1..];
        if after.starts_with("!--") {
            rest = after.find("-->").map_or("", |i| &after[i + 3..]);
            continue;
        }
        let Some(gt) = after.find('>') else {
            push_text(&mut lines, &rest[lt..], in_pre > 0);
            break;
        };
        let tag = &after[..gt];
        rest = &after[gt + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if name.is_empty() {
            // Not a tag (`a < b`): text.
            push_text(&mut lines, &format!("<{tag}>"), in_pre > 0);
            continue;
        }
        if !closing && (name == "script" || name == "style") {
            let end = format!("</{name}");
            rest = rest.to_ascii_lowercase().find(&end).map_or("", |i| {
                let r = &rest[i..];
                r.find('>').map_or("", |j| &r[j + 1..])
            });
            continue;
        }
        if name == "pre" {
            in_pre = if closing {
                in_pre.saturating_sub(1)
            } else {
                in_pre + 1
            };
        }
        if name == "br"
            || (BLOCKS.contains(&name.as_str())
                && !lines.last().expect("one line").trim().is_empty())
        {
            lines.push(String::new());
        }
    }
    let text: Vec<&str> = lines.iter().map(|l| l.trim()).collect();
    text.join("\n").trim_matches('\n').to_owned()
}
