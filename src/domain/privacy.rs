//! Callers' personal data (the Beijing regulation forbids leaking it): how names and phone numbers are masked in
//! every answer that does not carry the right to see them.

/// Keeps the first character (the family name, in most Chinese names) and masks the rest: 张三 → 张*, 欧阳娜娜 →
/// 欧***. A one-character name becomes `*`.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.trim().chars();
    let count = name.trim().chars().count();
    match (chars.next(), count) {
        (None, _) => String::new(),
        (Some(_), 1) => "*".into(),
        (Some(first), n) => std::iter::once(first)
            .chain(std::iter::repeat_n('*', n - 1))
            .collect(),
    }
}

/// Keeps the first three and last four digits of an 11-digit mobile number (138****5678); for other numbers keeps
/// at most the last four digits and masks the rest, so no more than four digits ever show.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(|c| !c.is_whitespace()).collect();
    let n = digits.len();
    if n == 11 && digits.iter().all(char::is_ascii_digit) && digits[0] == '1' {
        return digits[..3]
            .iter()
            .chain(['*'; 4].iter())
            .chain(digits[7..].iter())
            .collect();
    }
    let keep = if n > 6 { 4 } else { 0 };
    std::iter::repeat_n('*', n - keep)
        .chain(digits[n - keep..].iter().copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_only_the_first_character() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(mask_name("李"), "*");
        assert_eq!(mask_name(""), "");
    }

    #[test]
    fn phones_show_at_most_seven_digits_of_a_mobile_and_four_of_others() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("010-6512 3456"), "********3456");
        assert_eq!(mask_phone("12345"), "*****");
        assert_eq!(mask_phone(""), "");
    }
}
