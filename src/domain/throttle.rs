//! Login throttling: slow a guesser down without letting anyone lock a
//! student out at 15:59.
//!
//! Failures count per pair (client, username): after a few, that pair
//! waits longer and longer between tries. The account alone is never
//! locked, so an attacker elsewhere cannot shut a student out. The counts
//! live in the database (`models::login_failure`), so every instance behind
//! a balancer sees the same ones. Each client may also have only a few
//! password checks in flight at once on an instance, so one client flooding
//! it cannot fill the queue of (slow, on purpose) password checks that
//! everyone else's logins wait in.

use std::collections::HashMap;
use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};

/// Free tries for one client and username before waiting begins.
pub const FREE_TRIES: u32 = 5;
/// The longest wait between tries.
pub const MAX_WAIT_SECONDS: i64 = 60;
/// Password checks one client may have running or queued at once: a few,
/// since a class behind one NAT address logs in together.
pub const IN_FLIGHT_PER_ADDRESS: u32 = 4;
/// Failures are forgotten after this long without another.
pub const FORGET_MINUTES: i64 = 15;

/// The failed tries of one client for one username.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    pub count: u32,
    pub last: DateTime<Utc>,
}

/// Why a try must wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// This client and username failed too often: wait this long.
    Seconds(i64),
    /// This client already has its share of checks running.
    Busy,
}

/// What one client is: an IPv4 address, or an IPv6 /64 (one household or
/// machine is handed a whole /64, so its addresses are one client).
pub fn client_of(address: IpAddr) -> IpAddr {
    // An IPv4 client seen through a dual-stack socket (`::ffff:a.b.c.d`) is
    // that IPv4 address, not one of the /64 every IPv4 client shares.
    match address.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

impl Failures {
    /// Whether these failures are old enough to be forgotten.
    pub fn forgotten(&self, now: DateTime<Utc>) -> bool {
        now - self.last > Duration::minutes(FORGET_MINUTES)
    }

    /// How long the pair must still wait before its next try, if at all.
    pub fn wait(&self, now: DateTime<Utc>) -> Option<i64> {
        if self.forgotten(now) {
            return None;
        }
        let over = self.count.checked_sub(FREE_TRIES)?;
        // 1, 2, 4 ... seconds, then a minute however many more failures.
        let wait = if over < 6 {
            1i64 << over
        } else {
            MAX_WAIT_SECONDS
        }
        .min(MAX_WAIT_SECONDS);
        let left = (self.last + Duration::seconds(wait) - now).num_seconds();
        (left > 0).then_some(left)
    }
}

/// The checks each client has running on this instance.
#[derive(Debug, Default)]
pub struct InFlight {
    running: HashMap<IpAddr, u32>,
}

impl InFlight {
    /// Admits a check (and counts it), or says the client is busy.
    pub fn admit(&mut self, address: IpAddr) -> Result<(), Wait> {
        let running = self.running.entry(client_of(address)).or_insert(0);
        if *running >= IN_FLIGHT_PER_ADDRESS {
            return Err(Wait::Busy);
        }
        *running += 1;
        Ok(())
    }

    /// Takes an admitted check out of flight (however it ended).
    pub fn leave(&mut self, address: IpAddr) {
        let client = client_of(address);
        if let Some(running) = self.running.get_mut(&client) {
            *running = running.saturating_sub(1);
            if *running == 0 {
                self.running.remove(&client);
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

    fn failed(count: u32, last: i64) -> Failures {
        Failures {
            count,
            last: at(last),
        }
    }

    #[test]
    fn after_the_free_tries_a_pair_waits_longer_each_time_up_to_a_minute() {
        for count in 0..FREE_TRIES {
            assert_eq!(failed(count, 0).wait(at(0)), None, "{count} failures");
        }
        // 1 s after the fifth failure, then 2, 4, 8 ... seconds.
        assert_eq!(failed(5, 0).wait(at(0)), Some(1));
        assert_eq!(failed(5, 0).wait(at(1)), None);
        assert_eq!(failed(6, 10).wait(at(11)), Some(1));
        assert_eq!(failed(6, 10).wait(at(12)), None);
        assert_eq!(failed(8, 10).wait(at(10)), Some(8));
        assert_eq!(failed(8, 10).wait(at(17)), Some(1));
        assert_eq!(failed(8, 10).wait(at(18)), None);
        // Doubling stops at a minute, however many failures.
        assert_eq!(failed(11, 0).wait(at(0)), Some(MAX_WAIT_SECONDS));
        assert_eq!(failed(u32::MAX, 0).wait(at(59)), Some(1));
        assert_eq!(failed(u32::MAX, 0).wait(at(60)), None);
    }

    #[test]
    fn failures_are_forgotten_after_a_quarter_of_an_hour() {
        let many = failed(100, 0);
        assert!(!many.forgotten(at(15 * 60)));
        assert!(many.forgotten(at(15 * 60 + 1)));
        assert_eq!(many.wait(at(15 * 60 + 1)), None);
    }

    #[test]
    fn one_client_has_only_its_share_of_checks_in_flight() {
        let mut t = InFlight::default();
        for _ in 0..IN_FLIGHT_PER_ADDRESS {
            assert_eq!(t.admit(ATTACKER), Ok(()));
        }
        assert_eq!(t.admit(ATTACKER), Err(Wait::Busy));
        assert_eq!(t.admit(STUDENT), Ok(()));
        t.leave(ATTACKER);
        assert_eq!(t.admit(ATTACKER), Ok(()));
    }

    #[test]
    fn an_ipv6_client_is_its_whole_slash_64() {
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let other: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let elsewhere: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_of(one), client_of(other));
        assert_ne!(client_of(one), client_of(elsewhere));
        assert_eq!(client_of(ATTACKER), ATTACKER);
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        let other_mapped: IpAddr = "::ffff:10.0.0.2".parse().unwrap();
        assert_eq!(client_of(mapped), ATTACKER);
        assert_ne!(client_of(mapped), client_of(other_mapped));
        let mut t = InFlight::default();
        for _ in 0..IN_FLIGHT_PER_ADDRESS {
            assert_eq!(t.admit(one), Ok(()));
        }
        assert_eq!(t.admit(other), Err(Wait::Busy));
        assert_eq!(t.admit(elsewhere), Ok(()));
    }
}
