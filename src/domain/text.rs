//! Small helpers for the English of messages people read.

/// `word` with its indefinite article: "an admin", "an enterprise", "a dispatcher". The words this is used for are
/// snake_case names of roles and kinds, where a leading vowel letter is a vowel sound (no "unit"-like exceptions
/// among them; a word starting with 'u' keeps "a").
pub fn a(word: &str) -> String {
    let article = match word.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'A' | 'E' | 'I' | 'O') => "an",
        _ => "a",
    };
    format!("{article} {word}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_kinds_get_the_article_their_sound_needs() {
        assert_eq!(a("admin"), "an admin");
        assert_eq!(a("enterprise"), "an enterprise");
        assert_eq!(a("operator"), "an operator");
        assert_eq!(a("dispatcher"), "a dispatcher");
        assert_eq!(a("street_handler"), "a street_handler");
        assert_eq!(a("unit"), "a unit");
    }
}
