//! Text helpers: Markdown rendered to sanitised HTML, and search documents that work for Latin scripts and
//! for Chinese (overlapping bigrams of CJK runs, since Chinese has no spaces between words).

/// Renders Markdown to HTML and removes anything that could run script (tags, event handlers, `javascript:`).
pub fn render_markdown(markdown: &str) -> String {
    let parser = pulldown_cmark::Parser::new_ext(
        markdown,
        pulldown_cmark::Options::ENABLE_TABLES | pulldown_cmark::Options::ENABLE_STRIKETHROUGH,
    );
    let mut html = String::with_capacity(markdown.len() * 2);
    pulldown_cmark::html::push_html(&mut html, parser);
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&html)
        .to_string()
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xAC00..=0xD7AF | 0x20000..=0x2A6DF)
}

/// The terms of a text: lower-cased words of letters and digits, and for CJK runs each character pair
/// (a single CJK character stands alone).
pub fn terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut run: Vec<char> = Vec::new();
    let flush_run = |run: &mut Vec<char>, out: &mut Vec<String>| {
        match run.len() {
            0 => {}
            1 => out.push(run[0].to_string()),
            _ => out.extend(run.windows(2).map(|w| w.iter().collect::<String>())),
        }
        run.clear();
    };
    for c in text.chars() {
        if is_cjk(c) {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            run.push(c);
        } else if c.is_alphanumeric() {
            flush_run(&mut run, &mut out);
            word.extend(c.to_lowercase());
        } else {
            flush_run(&mut run, &mut out);
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
        }
    }
    flush_run(&mut run, &mut out);
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// The document indexed for search (`to_tsvector('simple', ...)` of this string).
pub fn search_document(parts: &[&str]) -> String {
    parts
        .iter()
        .flat_map(|p| terms(p))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A `to_tsquery('simple', ...)` expression matching every term of `query` (the last word as a prefix), or
/// `None` when the query has no searchable term.
pub fn search_query(query: &str) -> Option<String> {
    let mut terms = terms(query);
    if terms.is_empty() {
        return None;
    }
    // At most 16 terms; the last one kept is the prefix.
    terms.truncate(16);
    let last = terms.len() - 1;
    Some(
        terms
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let quoted = format!("'{}'", t.replace('\'', "''").replace('\\', ""));
                if i == last && t.chars().all(|c| c.is_ascii_alphanumeric()) {
                    format!("{quoted}:*")
                } else {
                    quoted
                }
            })
            .collect::<Vec<_>>()
            .join(" & "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_sanitised() {
        let html = render_markdown(
            "# Hi\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)> **bold**",
        );
        assert!(
            html.contains("<h1>Hi</h1>") && html.contains("<strong>bold</strong>"),
            "{html}"
        );
        for bad in ["<script", "onerror", "javascript:"] {
            assert!(!html.contains(bad), "{bad} in {html}");
        }
    }

    #[test]
    fn terms_cover_latin_and_chinese() {
        assert_eq!(
            terms("Watercolour Lake, 2024!"),
            ["watercolour", "lake", "2024"]
        );
        assert_eq!(terms("西湖水彩"), ["西湖", "湖水", "水彩"]);
        assert_eq!(terms("我的 Sketchbook 猫"), ["我的", "sketchbook", "猫"]);
        assert_eq!(search_query("水彩").unwrap(), "'水彩'");
        assert_eq!(search_query("water lak").unwrap(), "'water' & 'lak':*");
        assert_eq!(search_query("!!!"), None);
        assert_eq!(search_query("it's").unwrap(), "'it' & 's':*");
    }
}
