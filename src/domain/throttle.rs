//! Login throttling: slow a guesser down without letting anyone lock a
//! student out at 15:59.
//!
//! Failures count per pair (address, username): after a few, that pair
//! waits longer and longer between tries. The account alone is never
//! locked, so an attacker elsewhere cannot shut a student out. Each address
//! may also have only a few password checks in flight at once, so one
//! address flooding the server cannot fill the queue of (slow, on purpose)
//! password checks that everyone else's logins wait in.

use std::collections::HashMap;
use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};

/// Free tries for one address and username before waiting begins.
pub const FREE_TRIES: u32 = 5;
/// The longest wait between tries.
pub const MAX_WAIT_SECONDS: i64 = 60;
/// Password checks one address may have running or queued at once: a few,
/// since a class behind one NAT address logs in together.
pub const IN_FLIGHT_PER_ADDRESS: u32 = 4;
/// At most this many (address, username) pairs are remembered.
const MAX_PAIRS: usize = 100_000;
/// Failures are forgotten after this long without another.
const FORGET_MINUTES: i64 = 15;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: DateTime<Utc>,
}

/// Why a try must wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// This address and username failed too often: wait this long.
    Seconds(i64),
    /// This address already has its share of checks running.
    Busy,
}

/// What one client is: an IPv4 address, or an IPv6 /64 (one household or
/// machine is handed a whole /64, so its addresses are one client).
fn network_of(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

#[derive(Debug, Default)]
pub struct Throttle {
    failures: HashMap<(IpAddr, String), Failures>,
    in_flight: HashMap<IpAddr, u32>,
}

impl Throttle {
    /// How long the pair must still wait after `count` failures, the last at `last`.
    fn wait_after(failures: Failures, now: DateTime<Utc>) -> Option<i64> {
        let over = failures.count.checked_sub(FREE_TRIES)?;
        // 1, 2, 4 ... seconds, then a minute however many more failures.
        let wait = if over < 6 {
            1i64 << over
        } else {
            MAX_WAIT_SECONDS
        }
        .min(MAX_WAIT_SECONDS);
        let left = (failures.last + Duration::seconds(wait) - now).num_seconds();
        (left > 0).then_some(left)
    }

    /// Admits a try (and counts it in flight), or says why it must wait.
    pub fn admit(
        &mut self,
        address: IpAddr,
        username: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Wait> {
        let address = network_of(address);
        let key = (address, username.to_lowercase());
        if let Some(failures) = self.failures.get(&key).copied() {
            if now - failures.last > Duration::minutes(FORGET_MINUTES) {
                self.failures.remove(&key);
            } else if let Some(left) = Self::wait_after(failures, now) {
                return Err(Wait::Seconds(left));
            }
        }
        let running = self.in_flight.entry(address).or_insert(0);
        if *running >= IN_FLIGHT_PER_ADDRESS {
            return Err(Wait::Busy);
        }
        *running += 1;
        Ok(())
    }

    /// Takes an admitted try out of flight (however it ended).
    pub fn leave(&mut self, address: IpAddr) {
        let address = network_of(address);
        if let Some(running) = self.in_flight.get_mut(&address) {
            *running = running.saturating_sub(1);
            if *running == 0 {
                self.in_flight.remove(&address);
            }
        }
    }

    /// Records how a try ended: a success clears the pair's failures.
    pub fn record(&mut self, address: IpAddr, username: &str, succeeded: bool, now: DateTime<Utc>) {
        let key = (network_of(address), username.to_lowercase());
        if succeeded {
            self.failures.remove(&key);
            return;
        }
        let failures = self.failures.entry(key).or_insert(Failures {
            count: 0,
            last: now,
        });
        failures.count += 1;
        failures.last = now;
        // Keep the table bounded: forget pairs nobody has tried for a while,
        // and if that is not enough, start afresh rather than grow.
        if self.failures.len() > MAX_PAIRS {
            self.failures
                .retain(|_, f| now - f.last <= Duration::minutes(FORGET_MINUTES));
            if self.failures.len() > MAX_PAIRS / 2 {
                self.failures.clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_590_764_400 + seconds, 0).unwrap()
    }

    const ATTACKER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const STUDENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    fn fail(t: &mut Throttle, address: IpAddr, name: &str, now: DateTime<Utc>) -> Result<(), Wait> {
        t.admit(address, name, now)?;
        t.leave(address);
        t.record(address, name, false, now);
        Ok(())
    }

    #[test]
    fn after_the_free_tries_a_pair_waits_longer_each_time_up_to_a_minute() {
        let mut t = Throttle::default();
        for _ in 0..FREE_TRIES {
            assert_eq!(fail(&mut t, ATTACKER, "alice", at(0)), Ok(()));
        }
        // The sixth try is allowed; then 2 s, 4 s, ... between tries.
        assert_eq!(fail(&mut t, ATTACKER, "alice", at(1)), Ok(()));
        assert_eq!(t.admit(ATTACKER, "alice", at(2)), Err(Wait::Seconds(1)));
        assert_eq!(fail(&mut t, ATTACKER, "alice", at(3)), Ok(()));
        assert_eq!(t.admit(ATTACKER, "alice", at(6)), Err(Wait::Seconds(1)));
        assert_eq!(
            fail(&mut t, ATTACKER, "ALICE", at(7)),
            Ok(()),
            "names in any case"
        );
        assert_eq!(
            t.admit(ATTACKER, "alice", at(14)),
            Err(Wait::Seconds(1)),
            "8 s now"
        );
        // Doubling stops at a minute.
        for n in 0..4 {
            assert_eq!(
                fail(&mut t, ATTACKER, "alice", at(100 + n * 61)),
                Ok(()),
                "try {n}"
            );
        }
        assert_eq!(
            t.admit(ATTACKER, "alice", at(100 + 3 * 61 + 59)),
            Err(Wait::Seconds(1))
        );
        assert_eq!(t.admit(ATTACKER, "alice", at(100 + 3 * 61 + 60)), Ok(()));
    }

    #[test]
    fn the_student_is_never_locked_out_from_their_own_address() {
        let mut t = Throttle::default();
        for second in 0..50 {
            let _ = fail(&mut t, ATTACKER, "alice", at(second));
        }
        assert_eq!(t.admit(STUDENT, "alice", at(50)), Ok(()));
        t.leave(STUDENT);
        t.record(STUDENT, "alice", true, at(50));
        // And the attacker's other guesses are their own pairs.
        assert_eq!(t.admit(ATTACKER, "bob", at(50)), Ok(()));
    }

    #[test]
    fn one_address_has_only_its_share_of_checks_in_flight() {
        let mut t = Throttle::default();
        for n in 0..IN_FLIGHT_PER_ADDRESS {
            assert_eq!(t.admit(ATTACKER, &format!("u{n}"), at(0)), Ok(()));
        }
        assert_eq!(t.admit(ATTACKER, "another", at(0)), Err(Wait::Busy));
        assert_eq!(t.admit(STUDENT, "alice", at(0)), Ok(()));
        t.leave(ATTACKER);
        assert_eq!(t.admit(ATTACKER, "another", at(0)), Ok(()));
    }

    #[test]
    fn many_failures_wait_a_minute_and_never_overflow() {
        let mut t = Throttle::default();
        for n in 0..200 {
            assert_eq!(
                fail(&mut t, ATTACKER, "alice", at(n * 61)),
                Ok(()),
                "try {n}"
            );
        }
        assert_eq!(
            t.admit(ATTACKER, "alice", at(199 * 61 + 59)),
            Err(Wait::Seconds(1))
        );
    }

    #[test]
    fn an_ipv6_client_is_its_whole_slash_64() {
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let other: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let elsewhere: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        let mut t = Throttle::default();
        for _ in 0..FREE_TRIES {
            assert_eq!(fail(&mut t, one, "alice", at(0)), Ok(()));
        }
        assert!(t.admit(other, "alice", at(0)).is_err());
        assert_eq!(t.admit(elsewhere, "alice", at(0)), Ok(()));
    }

    #[test]
    fn failures_are_forgotten_and_success_clears_them() {
        let mut t = Throttle::default();
        for n in 0..FREE_TRIES + 3 {
            assert_eq!(
                fail(&mut t, ATTACKER, "alice", at(i64::from(n) * 61)),
                Ok(())
            );
        }
        assert!(t.admit(ATTACKER, "alice", at(7 * 61 + 1)).is_err());
        let later = 7 * 61 + 16 * 60;
        assert_eq!(t.admit(ATTACKER, "alice", at(later)), Ok(()));
        t.leave(ATTACKER);
        t.record(ATTACKER, "alice", true, at(later));
        for _ in 0..FREE_TRIES {
            assert_eq!(fail(&mut t, ATTACKER, "alice", at(later)), Ok(()));
        }
    }
}
