//! Sign-in throttling policy: which recent attempts count against which limit, and how long a refused client
//! waits. Pure rules; the store counts, the sign-in service reserves an attempt before it checks a password.
//!
//! The policy follows OWASP ASVS 4.0 V2.2.1 (anti-automation without letting strangers lock accounts): attempts
//! are limited per account *and* address, over a sliding window, and nothing is ever locked for good.
//!
//! 1. Per account and address: [`PER_PAIR`] attempts. One client guessing one account slows down first.
//! 2. Per address, across accounts: [`PER_ADDRESS`] attempts (password spraying from one address).
//! 3. Per account, across addresses: [`PER_ACCOUNT`] attempts, but only from addresses the account has not signed
//!    in from within [`KNOWN_ADDRESS_FOR`]. A botnet guessing one account is held to this limit, while its owner,
//!    signing in from an address they used before, is held only to limits 1 and 2, which a stranger elsewhere
//!    cannot use up. From a new address the owner waits for the window (or an admin runs `gridline user unlock`).
//!
//! Every attempt counts from the moment it is reserved (before its password is hashed); a successful sign-in
//! removes the attempts of its account from its address. A refused (429) request is not an attempt: hammering
//! does not prolong the wait. IPv6 clients are counted per /64, the block one subscriber usually holds.

use chrono::{Duration, NaiveDateTime};
use std::net::IpAddr;

/// The sliding window over which attempts count.
pub const WINDOW: Duration = Duration::minutes(15);
/// Attempts allowed per account from one address within [`WINDOW`].
pub const PER_PAIR: usize = 5;
/// Attempts allowed per account within [`WINDOW`] from addresses it has not signed in from lately.
pub const PER_ACCOUNT: usize = 10;
/// Attempts allowed per client address (all accounts) within [`WINDOW`].
pub const PER_ADDRESS: usize = 20;
/// How long an address stays known for an account after a successful sign-in from it.
pub const KNOWN_ADDRESS_FOR: Duration = Duration::days(30);

/// The throttle key of an account: the user name as typed, lower-cased (unknown names are counted the same way,
/// so throttling does not tell which names exist).
pub fn account_key(username: &str) -> String {
    username.to_lowercase()
}

/// The throttle key of a client address: an IPv4 address as is (also when written as IPv4-mapped IPv6), an IPv6
/// address by its /64 prefix.
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let prefix = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{prefix}/64")
            }
        },
    }
}

/// The attempts that still count at the time of a new one: for each limit, the times of the newest attempts,
/// newest first (at most the limit's number is needed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recent {
    /// This account from this address.
    pub pair: Vec<NaiveDateTime>,
    /// This address, every account.
    pub address: Vec<NaiveDateTime>,
    /// This account, every address.
    pub account: Vec<NaiveDateTime>,
    /// Whether the account signed in from this address within [`KNOWN_ADDRESS_FOR`] (limit 3 does not apply).
    pub known_address: bool,
}

/// Whole seconds until a new attempt is allowed, or `None` when it is allowed now.
pub fn wait(recent: &Recent, now: NaiveDateTime) -> Option<u64> {
    let account_limit = (!recent.known_address).then_some((&recent.account, PER_ACCOUNT));
    [
        Some((&recent.pair, PER_PAIR)),
        Some((&recent.address, PER_ADDRESS)),
        account_limit,
    ]
    .into_iter()
    .flatten()
    .filter_map(|(times, limit)| {
        // Newest first: the limit-th newest attempt leaving the window frees a place.
        let oldest_counted = times
            .iter()
            .filter(|&&at| at > now - WINDOW)
            .nth(limit.checked_sub(1)?)?;
        Some((*oldest_counted + WINDOW - now).num_seconds().max(1) as u64)
    })
    .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0)
            .unwrap_or_default()
            .naive_utc()
    }

    fn newest_first(n: usize, from: i64) -> Vec<NaiveDateTime> {
        (0..n as i64).rev().map(|k| at(from + k)).collect()
    }

    #[test]
    fn a_client_under_every_limit_does_not_wait() {
        let recent = Recent {
            pair: newest_first(PER_PAIR - 1, 0),
            address: newest_first(PER_ADDRESS - 1, 0),
            account: newest_first(PER_ACCOUNT - 1, 0),
            known_address: false,
        };
        assert_eq!(wait(&recent, at(100)), None);
    }

    #[test]
    fn a_full_pair_waits_until_its_oldest_counted_attempt_leaves_the_window() {
        let recent = Recent {
            pair: newest_first(PER_PAIR, 0),
            ..Recent::default()
        };
        // The oldest of the five is at 0: free at 900.
        assert_eq!(wait(&recent, at(100)), Some(800));
        assert_eq!(wait(&recent, at(900)), None);
    }

    #[test]
    fn an_account_full_from_strangers_does_not_hold_back_its_known_address() {
        let mut recent = Recent {
            account: newest_first(PER_ACCOUNT * 3, 0),
            ..Recent::default()
        };
        assert!(wait(&recent, at(60)).is_some());
        recent.known_address = true;
        assert_eq!(wait(&recent, at(60)), None);
    }

    #[test]
    fn the_longest_wait_of_the_limits_reached_is_answered() {
        let recent = Recent {
            pair: newest_first(PER_PAIR, 300),
            address: newest_first(PER_ADDRESS, 0),
            ..Recent::default()
        };
        assert_eq!(wait(&recent, at(400)), Some(800));
    }

    #[test]
    fn ipv6_clients_count_per_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1"
            .parse()
            .unwrap_or(IpAddr::from([0; 4]));
        let b: IpAddr = "2001:db8:1:2:bbbb::9"
            .parse()
            .unwrap_or(IpAddr::from([0; 4]));
        assert_eq!(address_key(a), "2001:db8:1:2::/64");
        assert_eq!(address_key(a), address_key(b));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap_or(IpAddr::from([0; 4]));
        assert_eq!(address_key(mapped), "10.0.0.1");
    }
}
