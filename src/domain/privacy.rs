//! Callers' personal data (the Beijing regulation forbids leaking it): how names and phone numbers are masked in
//! every answer that does not carry the right to see them, and how free text and points are made fit for the
//! public (Open311): contact details inside the text are blotted out and points are coarsened.

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

/// A digit as a person may type it: ASCII or full-width (０-９, common in Chinese input).
fn digit(c: char) -> bool {
    c.is_ascii_digit() || ('０'..='９').contains(&c)
}

/// Runs of at least this many digits are taken for contact or identity numbers: a landline without its area code
/// has 7 or 8 digits, a mobile 11, an identity card 18.
pub const MIN_REDACTED_DIGITS: usize = 7;

/// Whether the digits of a run read as a calendar date (2026-03-03, 2026.3.3), which is kept.
fn is_date(run: &str) -> bool {
    let parts: Vec<&str> = run.split(['-', '.']).collect();
    let [y, m, d] = parts.as_slice() else {
        return false;
    };
    let num = |s: &str, max: u32| {
        s.chars().all(|c| c.is_ascii_digit())
            && s.parse::<u32>().is_ok_and(|n| (1..=max).contains(&n))
    };
    y.len() == 4 && num(y, 2999) && m.len() <= 2 && num(m, 12) && d.len() <= 2 && num(d, 31)
}

/// Free text as the public may read it: every run of digits that could be a phone, identity or account number
/// (at least [`MIN_REDACTED_DIGITS`] digits, ASCII or full-width, single `-`, `.` or spaces between groups, a
/// leading `+` or a bracketed area code included: 13812345678, 010-6512 3456, (010)65123456, +86 138…) has each
/// digit replaced by `*`, and every e-mail address becomes `***@***`. Dates written with digits only
/// (2026-03-03) are kept; a shorter number (a house number, 3号楼1302室) is kept.
pub fn redact_contacts(text: &str) -> String {
    redact_emails(&redact_numbers(text))
}

fn redact_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let starts_run = digit(chars[i])
            || (matches!(chars[i], '+' | '(' | '（')
                && chars.get(i + 1).copied().is_some_and(digit));
        if !starts_run {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // The run: digits, with single separators (or a closing bracket) between digit groups.
        let mut j = i + 1;
        while j < chars.len() {
            if digit(chars[j]) {
                j += 1;
            } else if matches!(chars[j], '-' | '.' | ' ' | ')' | '）')
                && chars.get(j + 1).copied().is_some_and(digit)
            {
                j += 2;
            } else if matches!(chars[j], ')' | '）')
                && chars.get(j + 1).is_some_and(|c| matches!(c, '-' | ' '))
                && chars.get(j + 2).copied().is_some_and(digit)
            {
                j += 3;
            } else {
                break;
            }
        }
        let run: String = chars[i..j].iter().collect();
        // A date followed by a time or another number (2026-03-03 22 点): keep the date, look at the rest anew.
        if let Some(space) = run.find(' ')
            && is_date(&run[..space])
        {
            out.push_str(&run[..space]);
            i += run[..space].chars().count();
            continue;
        }
        let digits = chars[i..j].iter().filter(|c| digit(**c)).count();
        if digits >= MIN_REDACTED_DIGITS && !is_date(&run) {
            out.extend(chars[i..j].iter().map(|&c| if digit(c) { '*' } else { c }));
        } else {
            out.push_str(&run);
        }
        i = j;
    }
    out
}

fn redact_emails(text: &str) -> String {
    let local = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-');
    let domain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-');
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '@' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = chars[..i].iter().rev().take_while(|c| local(**c)).count();
        let end = chars[i + 1..].iter().take_while(|c| domain(**c)).count();
        let host: String = chars[i + 1..i + 1 + end].iter().collect();
        let host = host.trim_end_matches('.');
        if start > 0 && host.contains('.') {
            // Drop the local part already written, then the address.
            for _ in 0..start {
                out.pop();
            }
            out.push_str("***@***");
            i += 1 + host.chars().count();
        } else {
            out.push('@');
            i += 1;
        }
    }
    out
}

/// Decimal places kept of a point shown to the public: 3 places is about 110 m north-south and 85 m east-west in
/// Beijing, enough to put a problem on a map (cases merge within 50–200 m) but not to name the caller's door.
pub const PUBLIC_DECIMALS: i32 = 3;

/// A coordinate (degrees) rounded to [`PUBLIC_DECIMALS`] places.
pub fn coarse(degrees: f64) -> f64 {
    let f = 10f64.powi(PUBLIC_DECIMALS);
    (degrees * f).round() / f
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

    #[test]
    fn phone_and_identity_numbers_in_text_are_blotted_out() {
        assert_eq!(
            redact_contacts("请联系我13812345678，谢谢"),
            "请联系我***********，谢谢"
        );
        assert_eq!(redact_contacts("电话 010-6512 3456"), "电话 ***-**** ****");
        assert_eq!(redact_contacts("座机65123456"), "座机********");
        assert_eq!(redact_contacts("(010)65123456 找王"), "(***)******** 找王");
        assert_eq!(redact_contacts("+86 138 1234 5678"), "+** *** **** ****");
        assert_eq!(
            redact_contacts("身份证11010519491231002X"),
            "身份证*****************X"
        );
        assert_eq!(
            redact_contacts("全角１３８１２３４５６７８"),
            "全角***********"
        );
    }

    #[test]
    fn short_numbers_and_dates_stay() {
        for kept in [
            "3号楼2单元1302室",
            "从2026-03-03开始",
            "2026.3.3 晚上 22:30",
            "2026-03-03 22:30 又开始施工",
            "楼下 100 米",
            "门牌123456",
        ] {
            assert_eq!(redact_contacts(kept), kept);
        }
    }

    #[test]
    fn email_addresses_are_blotted_out() {
        assert_eq!(
            redact_contacts("写信到 zhang.san@example.com.cn 或 a@b"),
            "写信到 ***@*** 或 a@b"
        );
        assert_eq!(redact_contacts("结尾 x@y.org."), "结尾 ***@***.");
    }

    #[test]
    fn public_points_keep_three_decimals() {
        assert_eq!(coarse(116.397_49), 116.397);
        assert_eq!(coarse(39.908_76), 39.909);
        assert_eq!(coarse(-0.000_4), -0.0);
    }
}
