//! Placing a ticket that has only address text: find the names of districts, streets and communities in the text
//! and pick the most precise place they agree on.
//!
//! 1. Every place gets its official name and the short forms people write: 朝阳区 → 朝阳; 望京街道 → 望京;
//!    花家地社区居委会 → 花家地社区, 花家地. Short forms of two characters are kept for districts and streets only
//!    (two-character community cores such as 和平 are too common as words).
//! 2. One Aho-Corasick pass over the text finds non-overlapping names, leftmost-longest (so 朝阳门 wins over 朝阳).
//! 3. Candidates are narrowed top-down: streets inside a named district, communities inside a named street (or
//!    district). A name shared by several places that nothing else disambiguates falls back to what they have in
//!    common (their street or district), so the answer is never more precise than the text.

use crate::geo::place::Level;
use aho_corasick::{AhoCorasick, MatchKind};
use std::collections::HashMap;

/// The longest address text looked at (characters); the rest is ignored.
pub const MAX_ADDRESS_CHARS: usize = 500;

/// Where an address placed a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressMatch {
    /// The place's code.
    pub code: String,
    /// Its level (district, street or community).
    pub level: Level,
    /// The names found in the text, in order.
    pub matched: Vec<String>,
}

/// The matcher, built once from the place hierarchy.
#[derive(Debug)]
pub struct AddressMatcher {
    automaton: Option<AhoCorasick>,
    /// For each pattern, the places (code, level) it names.
    targets: Vec<Vec<(String, Level)>>,
}

const DISTRICT_SUFFIXES: [&str; 2] = ["区", "县"];
const STREET_SUFFIXES: [&str; 6] = ["街道办事处", "地区办事处", "街道", "地区", "镇", "乡"];
const COMMITTEE_SUFFIXES: [&str; 6] = [
    "社区居民委员会",
    "社区居委会",
    "居民委员会",
    "村民委员会",
    "居委会",
    "村委会",
];

fn strip_any<'a>(name: &'a str, suffixes: &[&str]) -> Option<&'a str> {
    suffixes.iter().find_map(|s| name.strip_suffix(s))
}

/// The names a place goes by, official first.
fn aliases(name: &str, level: Level) -> Vec<String> {
    let mut out = vec![name.to_owned()];
    let mut push = |s: String, min_chars: usize| {
        if s.chars().count() >= min_chars && !out.contains(&s) {
            out.push(s);
        }
    };
    match level {
        Level::District => {
            if let Some(core) = strip_any(name, &DISTRICT_SUFFIXES) {
                push(core.to_owned(), 2);
            }
        }
        Level::Street => {
            if let Some(core) = strip_any(name, &STREET_SUFFIXES) {
                push(core.to_owned(), 2);
                push(format!("{core}街道"), 3);
            }
        }
        Level::Community => {
            let committee = strip_any(name, &COMMITTEE_SUFFIXES);
            let village = name.ends_with("村委会") || name.ends_with("村民委员会");
            if let Some(core) = committee {
                // 花家地社区居委会 → 花家地社区 and 花家地; 马坊村村委会 → 马坊村 and 马坊.
                let core = core
                    .strip_suffix("社区")
                    .or_else(|| core.strip_suffix('村'))
                    .unwrap_or(core);
                push(format!("{core}{}", if village { "村" } else { "社区" }), 3);
                push(core.to_owned(), 3);
            } else if let Some(core) = name
                .strip_suffix("社区")
                .or_else(|| name.strip_suffix('村'))
            {
                push(core.to_owned(), 3);
            }
        }
        Level::City | Level::Cell => {}
    }
    out
}

/// The items inside one of `by`, or all of them when `by` is empty or none is inside.
fn narrow<'a>(
    items: Vec<&'a (String, Level)>,
    by: &[&(String, Level)],
) -> Vec<&'a (String, Level)> {
    if by.is_empty() {
        return items;
    }
    let inside: Vec<_> = items
        .iter()
        .copied()
        .filter(|(c, _)| within(c, by))
        .collect();
    if inside.is_empty() { items } else { inside }
}

fn within(code: &str, ancestors: &[&(String, Level)]) -> bool {
    ancestors.iter().any(|(a, _)| code.starts_with(a.as_str()))
}

/// The longest code prefix all codes share, cut to a whole level.
fn common_place(codes: &[&(String, Level)]) -> Option<(String, Level)> {
    let first = &codes.first()?.0;
    let shared = codes.iter().fold(first.len(), |n, (c, _)| {
        first
            .bytes()
            .zip(c.bytes())
            .take(n)
            .take_while(|(a, b)| a == b)
            .count()
    });
    [Level::Community, Level::Street, Level::District]
        .into_iter()
        .find(|l| shared >= l.code_len())
        .map(|l| (first[..l.code_len()].to_owned(), l))
}

impl AddressMatcher {
    /// Builds the matcher from (code, name, level) of districts, streets and communities; other levels are ignored.
    pub fn new<'a>(places: impl IntoIterator<Item = (&'a str, &'a str, Level)>) -> AddressMatcher {
        let mut by_alias: HashMap<String, Vec<(String, Level)>> = HashMap::new();
        for (code, name, level) in places {
            if !matches!(level, Level::District | Level::Street | Level::Community) {
                continue;
            }
            for alias in aliases(name, level) {
                let entry = by_alias.entry(alias).or_default();
                if !entry.iter().any(|(c, _)| c == code) {
                    entry.push((code.to_owned(), level));
                }
            }
        }
        let mut patterns: Vec<(String, Vec<(String, Level)>)> = by_alias.into_iter().collect();
        patterns.sort();
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(patterns.iter().map(|(p, _)| p.as_str()))
            .ok();
        AddressMatcher {
            automaton,
            targets: patterns.into_iter().map(|(_, t)| t).collect(),
        }
    }

    /// Builds the matcher from every place of an index.
    pub fn from_index(index: &crate::geo::index::PlaceIndex) -> AddressMatcher {
        AddressMatcher::new(
            index
                .places()
                .iter()
                .map(|p| (p.code.as_str(), p.name.as_str(), p.level)),
        )
    }

    /// The most precise place the text names, or `None` when it names none (or only contradictory ones).
    pub fn find(&self, text: &str) -> Option<AddressMatch> {
        let automaton = self.automaton.as_ref()?;
        let text: String = text
            .chars()
            .take(MAX_ADDRESS_CHARS)
            .filter(|c| !c.is_whitespace())
            .collect();
        let mut matched = Vec::new();
        let mut found: Vec<&(String, Level)> = Vec::new();
        for m in automaton.find_iter(&text) {
            matched.push(text[m.start()..m.end()].to_owned());
            found.extend(self.targets[m.pattern().as_usize()].iter());
        }
        let at = |level: Level| -> Vec<&(String, Level)> {
            found.iter().copied().filter(|(_, l)| *l == level).collect()
        };
        let districts = at(Level::District);
        let streets = narrow(at(Level::Street), &districts);
        let communities = {
            let by_street = narrow(at(Level::Community), &streets);
            narrow(by_street, &districts)
        };
        let (code, level) = [&communities, &streets, &districts]
            .into_iter()
            .find(|v| !v.is_empty())
            .and_then(|v| {
                let mut codes = v.clone();
                codes.sort();
                codes.dedup();
                common_place(&codes)
            })?;
        Some(AddressMatch {
            code,
            level,
            matched,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher() -> AddressMatcher {
        let places = [
            ("110105", "朝阳区", Level::District),
            ("110101", "东城区", Level::District),
            ("110108", "海淀区", Level::District),
            ("110105026", "望京街道", Level::Street),
            ("110105001", "建外街道", Level::Street),
            ("110101004", "朝阳门街道", Level::Street),
            ("110108001", "万寿路街道", Level::Street),
            ("110105026041", "花家地社区居委会", Level::Community),
            ("110105026034", "花家地西里社区居委会", Level::Community),
            ("110105001001", "光华里社区居委会", Level::Community),
            ("110108001001", "光华里社区居委会", Level::Community),
            ("110108001002", "马坊村村委会", Level::Community),
        ];
        AddressMatcher::new(places)
    }

    fn find(text: &str) -> Option<(String, Level)> {
        matcher().find(text).map(|m| (m.code, m.level))
    }

    #[test]
    fn common_forms_place_the_community() {
        let want = Some(("110105026041".to_owned(), Level::Community));
        assert_eq!(find("朝阳区望京街道花家地社区12号楼"), want);
        assert_eq!(find("望京街道花家地社区"), want);
        assert_eq!(find("北京市朝阳区花家地社区居委会附近"), want);
        assert_eq!(find("花家地 社区"), want);
    }

    #[test]
    fn the_longest_name_wins() {
        assert_eq!(
            find("花家地西里3号院"),
            Some(("110105026034".to_owned(), Level::Community))
        );
        assert_eq!(
            find("朝阳门内大街"),
            Some(("110101004".to_owned(), Level::Street))
        );
    }

    #[test]
    fn a_name_shared_by_two_places_needs_context() {
        assert_eq!(find("光华里社区"), None);
        assert_eq!(
            find("海淀区光华里社区"),
            Some(("110108001001".to_owned(), Level::Community))
        );
        assert_eq!(
            find("朝阳区光华里"),
            Some(("110105001001".to_owned(), Level::Community))
        );
    }

    #[test]
    fn coarse_text_gives_coarse_places() {
        assert_eq!(
            find("朝阳区某小区"),
            Some(("110105".to_owned(), Level::District))
        );
        assert_eq!(find("望京"), Some(("110105026".to_owned(), Level::Street)));
        assert_eq!(
            find("马坊村东口"),
            Some(("110108001002".to_owned(), Level::Community))
        );
        assert_eq!(find("不知道在哪里"), None);
        assert_eq!(find(""), None);
    }
}
