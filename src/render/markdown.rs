//! Author-written Markdown (notes, static pages, character bios) to HTML
//! that is safe to embed: pulldown-cmark renders, ammonia removes anything
//! that could run script or break out of the page.

use pulldown_cmark::{html, Options, Parser};

pub fn to_html(markdown: &str) -> String {
    if markdown.trim().is_empty() {
        return String::new();
    }
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_SMART_PUNCTUATION;
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut raw, Parser::new_ext(markdown, options));
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&raw)
        .to_string()
}

/// A reader's comment: a small, safe subset. Paragraphs, emphasis, code,
/// quotes, lists and links (`rel="nofollow ugc noopener"`, http(s) and
/// mailto only); headings, images, tables and raw HTML are not rendered
/// (raw HTML is shown as the text the reader typed).
pub fn comment_to_html(markdown: &str) -> String {
    use pulldown_cmark::{Event, Tag, TagEnd};
    if markdown.trim().is_empty() {
        return String::new();
    }
    let parser =
        Parser::new_ext(markdown, Options::ENABLE_STRIKETHROUGH).map(|event| match event {
            Event::Html(t) | Event::InlineHtml(t) => Event::Text(t),
            // A heading is a paragraph here: readers do not get to shout.
            Event::Start(Tag::Heading { .. }) => Event::Start(Tag::Paragraph),
            Event::End(TagEnd::Heading(_)) => Event::End(TagEnd::Paragraph),
            other => other,
        });
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut raw, parser);
    ammonia::Builder::empty()
        .add_tags([
            "p",
            "br",
            "em",
            "strong",
            "del",
            "code",
            "pre",
            "blockquote",
            "ul",
            "ol",
            "li",
            "a",
        ])
        .add_tag_attributes("a", ["href"])
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("nofollow ugc noopener"))
        .clean(&raw)
        .to_string()
}

/// Plain text of Markdown, for descriptions and feed summaries.
pub fn to_text(markdown: &str, max_chars: usize) -> String {
    use pulldown_cmark::{Event, TagEnd};
    let mut text = String::new();
    for event in Parser::new(markdown) {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak | Event::End(TagEnd::Paragraph) => text.push(' '),
            _ => {}
        }
        if text.chars().count() > max_chars {
            break;
        }
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > max_chars {
        let cut: String = text.chars().take(max_chars.saturating_sub(1)).collect();
        format!("{}…", cut.trim_end())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_renders_and_scripts_do_not() {
        let html = to_html("**bold** <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>");
        assert!(html.contains("<strong>bold</strong>"), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
    }

    #[test]
    fn links_get_safe_rel() {
        let html = to_html("[site](https://example.com)");
        assert!(
            html.contains("rel=\"noopener noreferrer nofollow\""),
            "{html}"
        );
    }

    #[test]
    fn comments_get_a_small_safe_subset() {
        let html = comment_to_html(
            "# Big\n\n**ok** <b onmouseover=x>hi</b> ![i](https://e.x/i.png) [a](https://e.x) [j](javascript:alert(1)) [r](/admin)",
        );
        assert!(html.contains("<strong>ok</strong>"), "{html}");
        assert!(!html.contains("<h1"), "{html}");
        assert!(html.contains("&lt;b onmouseover=x&gt;"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("rel=\"nofollow ugc noopener\""), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(!html.contains("href=\"/admin\""), "{html}");
    }

    #[test]
    fn text_is_shortened_on_a_character_boundary() {
        assert_eq!(to_text("Hello *world*", 100), "Hello world");
        let long = to_text(&"é".repeat(50), 10);
        assert_eq!(long.chars().count(), 10);
        assert!(long.ends_with('…'));
    }
}
