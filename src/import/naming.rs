//! How cartoonists name their files, and the order that follows from it.
//!
//! - `2010-05-03-title.png`: a date, then a title.
//! - `0001.png`, `12.png`, `0012-the-storm.png`: a number, then maybe a title.
//! - `0012_1.png`, `0012_2.png` or `12a.png`, `12b.png`: slices of one page
//!   (only when the name starts with a digit, so `page_2.png` stays a page).
//! - anything else: the name is the title.

use std::cmp::Ordering;

use chrono::NaiveDate;

/// What a file name says about its page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName {
    /// The page's key: the name without slice suffix. Slices share it.
    pub base: String,
    /// Slice order within the page, if the name had a slice suffix.
    pub slice: Option<String>,
    pub date: Option<NaiveDate>,
    pub number: Option<u64>,
    /// The words after the date or number, humanized ("the-storm" → "The storm").
    pub title: Option<String>,
}

pub fn parse(stem: &str) -> FileName {
    let (base, slice) = split_slice(stem);
    let (date, rest) = match parse_date_prefix(base) {
        Some((date, rest)) => (Some(date), rest),
        None => (None, base),
    };
    let (number, rest) = if date.is_none() {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        match digits.parse::<u64>() {
            Ok(n) if !digits.is_empty() => (Some(n), &rest[digits.len()..]),
            _ => (None, rest),
        }
    } else {
        (None, rest)
    };
    let title = humanize(rest);
    FileName {
        base: base.to_owned(),
        slice: slice.map(str::to_owned),
        date,
        number,
        title,
    }
}

fn split_slice(stem: &str) -> (&str, Option<&str>) {
    if !stem.starts_with(|c: char| c.is_ascii_digit()) {
        return (stem, None);
    }
    if let Some((base, suffix)) = stem.rsplit_once('_') {
        if !base.is_empty()
            && (1..=3).contains(&suffix.len())
            && suffix.bytes().all(|b| b.is_ascii_digit())
        {
            return (base, Some(suffix));
        }
    }
    // `12a`, `12b`: digits then one lowercase letter.
    let bytes = stem.as_bytes();
    if bytes.len() >= 2
        && bytes[bytes.len() - 1].is_ascii_lowercase()
        && bytes[..bytes.len() - 1].iter().all(u8::is_ascii_digit)
    {
        return (&stem[..stem.len() - 1], Some(&stem[stem.len() - 1..]));
    }
    (stem, None)
}

fn parse_date_prefix(s: &str) -> Option<(NaiveDate, &str)> {
    if s.len() >= 10 {
        if let Ok(date) = NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d") {
            return Some((date, &s[10..]));
        }
    }
    // 20100503 only when followed by a separator or nothing, to leave 8-digit page numbers alone.
    if s.len() >= 8 && s.as_bytes().get(8).is_none_or(|b| !b.is_ascii_digit()) {
        if let Ok(date) = NaiveDate::parse_from_str(s.get(..8)?, "%Y%m%d") {
            if (1980..=2100).contains(&date.year_ce().1) {
                return Some((date, &s[8..]));
            }
        }
    }
    None
}

use chrono::Datelike;

/// "-the_storm" → "The storm"; empty → None.
pub fn humanize(s: &str) -> Option<String> {
    let words: Vec<&str> = s
        .split(|c: char| c == '-' || c == '_' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return None;
    }
    let joined = words.join(" ");
    let mut chars = joined.chars();
    let first = chars.next()?;
    Some(first.to_uppercase().chain(chars).collect())
}

/// A chapter folder's title: "ch01" → "Chapter 1", "02-the-storm" → "The storm".
pub fn chapter_title(dir: &str) -> String {
    let lower = dir.to_ascii_lowercase();
    for prefix in ["chapter", "chap", "ch", "c"] {
        if let Some(rest) = lower.strip_prefix(prefix) {
            let rest = rest.trim_start_matches(['-', '_', ' ', '.']);
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if let Ok(n) = digits.parse::<u64>() {
                let title = humanize(&dir[dir.len() - rest.len() + digits.len()..]);
                return match title {
                    Some(t) => format!("Chapter {n}: {t}"),
                    None => format!("Chapter {n}"),
                };
            }
        }
    }
    let digits: String = dir.chars().take_while(char::is_ascii_digit).collect();
    if !digits.is_empty() {
        if let Some(title) = humanize(&dir[digits.len()..]) {
            return title;
        }
        return format!("Chapter {}", digits.parse::<u64>().unwrap_or(0));
    }
    humanize(dir).unwrap_or_else(|| dir.to_owned())
}

/// Natural order: digit runs compare as numbers ("2" < "10"), the rest as text.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let na = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let nb = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let (da, db) = (trim_zeros(&a[..na]), trim_zeros(&b[..nb]));
                let ord = da
                    .len()
                    .cmp(&db.len())
                    .then_with(|| da.cmp(db))
                    .then_with(|| na.cmp(&nb));
                if ord != Ordering::Equal {
                    return ord;
                }
                a = &a[na..];
                b = &b[nb..];
            }
            (Some(x), Some(y)) => {
                let ord = x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase());
                if ord != Ordering::Equal {
                    return ord;
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let start = digits
        .iter()
        .position(|&d| d != b'0')
        .unwrap_or(digits.len());
    &digits[start..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn dated_names_give_date_and_title() {
        let name = parse("2010-05-03-the-first-page");
        assert_eq!(name.date, NaiveDate::from_ymd_opt(2010, 5, 3));
        assert_eq!(name.title.as_deref(), Some("The first page"));
        assert_eq!(name.slice, None);
        assert_eq!(parse("20100503").date, NaiveDate::from_ymd_opt(2010, 5, 3));
    }

    #[test]
    fn numbered_names_give_numbers() {
        assert_eq!(parse("0001").number, Some(1));
        assert_eq!(parse("0012-the-storm").title.as_deref(), Some("The storm"));
        assert_eq!(
            parse("12345678").date,
            None,
            "an 8-digit number is not a date unless it is one"
        );
    }

    #[test]
    fn slices_share_a_base() {
        assert_eq!(parse("0012_2").base, "0012");
        assert_eq!(parse("0012_2").slice.as_deref(), Some("2"));
        assert_eq!(parse("12b").base, "12");
        assert_eq!(parse("2010-05-03-title_1").base, "2010-05-03-title");
        // Names not led by a number are never slices.
        assert_eq!(parse("page_2").slice, None);
        assert_eq!(parse("page_2").base, "page_2");
    }

    #[test]
    fn chapter_folders_get_readable_titles() {
        assert_eq!(chapter_title("ch01"), "Chapter 1");
        assert_eq!(chapter_title("chapter-2-the-storm"), "Chapter 2: The storm");
        assert_eq!(chapter_title("03_the_return"), "The return");
        assert_eq!(chapter_title("Prologue"), "Prologue");
    }

    #[test]
    fn natural_order_is_what_people_expect() {
        let mut names = vec![
            "10",
            "2",
            "1",
            "page10",
            "page2",
            "0003",
            "2010-05-03",
            "2009-12-31",
        ];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            names,
            vec![
                "1",
                "2",
                "0003",
                "10",
                "2009-12-31",
                "2010-05-03",
                "page2",
                "page10"
            ]
        );
    }

    proptest! {
        #[test]
        fn natural_order_is_a_total_order(mut v in proptest::collection::vec("[a-c0-9_-]{0,8}", 0..30)) {
            v.sort_by(|a, b| natural_cmp(a, b));
            for w in v.windows(2) {
                prop_assert_ne!(natural_cmp(&w[0], &w[1]), Ordering::Greater);
            }
        }

        #[test]
        fn parsing_never_panics_and_keeps_the_base(stem in "\\PC{0,40}") {
            let name = parse(&stem);
            prop_assert!(stem.starts_with(&name.base));
        }
    }
}
