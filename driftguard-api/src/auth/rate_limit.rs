//! A per-client limit on analysis requests (`server.analyze_rate_limit`).
//!
//! Each client may send `per_minute` requests at once, then one more every
//! `60 s / per_minute` (the generic cell rate algorithm: one instant per client, the
//! "theoretical arrival time"). A client whose instant is in the past is in the same state
//! as one never seen, so such entries can be dropped at any time: that keeps the table
//! bounded however many clients come and go.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Most clients tracked at once; past it, the least limited client is forgotten.
const CAPACITY: usize = 10_000;

/// Who a request is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum ClientKey {
    /// The name of the token the request presented.
    Token(String),
    /// The client's IP address, when no tokens are configured.
    Address(IpAddr),
    /// A request whose address is not known (the API embedded in another server).
    Unknown,
}

/// The limiter of one kind of request.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    /// Time between two requests at the sustained rate.
    interval: Duration,
    /// How far ahead of now a client's instant may be before it is refused: the burst.
    tolerance: Duration,
    clients: Mutex<HashMap<ClientKey, Instant>>,
}

impl RateLimiter {
    /// `per_minute` requests a minute per client; `None` when `per_minute` is 0 (off).
    pub(crate) fn per_minute(per_minute: u32) -> Option<Self> {
        if per_minute == 0 {
            return None;
        }
        let interval = Duration::from_secs(60) / per_minute;
        Some(Self {
            interval,
            tolerance: interval * (per_minute - 1),
            clients: Mutex::new(HashMap::new()),
        })
    }

    /// Counts a request of `client` at `now`; `Err` with the time to wait before the
    /// next request would be allowed, when this one is over the limit.
    pub(crate) fn check(&self, client: ClientKey, now: Instant) -> Result<(), Duration> {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        let arrival = clients.get(&client).copied().unwrap_or(now).max(now);
        let ahead = arrival - now;
        if ahead > self.tolerance {
            return Err(ahead - self.tolerance);
        }
        if !clients.contains_key(&client) && clients.len() >= CAPACITY {
            make_room(&mut clients, now);
        }
        clients.insert(client, arrival + self.interval);
        Ok(())
    }

    /// How many clients are tracked.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// Drops every client no longer limited; when all still are, drops the least limited.
fn make_room(clients: &mut HashMap<ClientKey, Instant>, now: Instant) {
    clients.retain(|_, arrival| *arrival > now);
    if clients.len() >= CAPACITY
        && let Some(key) = clients
            .iter()
            .min_by_key(|(_, arrival)| **arrival)
            .map(|(key, _)| key.clone())
    {
        clients.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn token(name: &str) -> ClientKey {
        ClientKey::Token(name.to_owned())
    }

    #[test]
    fn a_burst_of_the_limit_passes_then_one_per_interval() {
        let limiter = RateLimiter::per_minute(6).expect("on");
        let start = Instant::now();
        for _ in 0..6 {
            limiter.check(token("ci"), start).expect("within the burst");
        }
        let wait = limiter
            .check(token("ci"), start)
            .expect_err("over the limit");
        assert_eq!(wait, Duration::from_secs(10));
        // Other clients have limits of their own.
        limiter
            .check(token("dashboard"), start)
            .expect("another client");
        // Refused requests do not count.
        let later = start + Duration::from_secs(10);
        limiter
            .check(token("ci"), later)
            .expect("one more after 10 s");
        assert!(limiter.check(token("ci"), later).is_err());
        // A minute of quiet gives the whole burst back.
        let much_later = start + Duration::from_secs(120);
        for _ in 0..6 {
            limiter.check(token("ci"), much_later).expect("a new burst");
        }
    }

    #[test]
    fn zero_turns_the_limit_off() {
        assert!(RateLimiter::per_minute(0).is_none());
    }

    #[test]
    fn the_table_stays_bounded() {
        let limiter = RateLimiter::per_minute(1).expect("on");
        let start = Instant::now();
        for n in 0..(CAPACITY as u32 + 500) {
            let address = IpAddr::V4(Ipv4Addr::from(n));
            limiter
                .check(ClientKey::Address(address), start)
                .expect("a new client");
        }
        assert!(limiter.tracked() <= CAPACITY);
        // Clients no longer limited are dropped first.
        let later = start + Duration::from_secs(61);
        limiter.check(ClientKey::Unknown, later).expect("room");
        assert_eq!(limiter.tracked(), 1);
    }
}
