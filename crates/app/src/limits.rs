//! Abuse limits: fixed-window counters per client address, in a table
//! whose size is fixed when it is made.
//!
//! A [`RateLimiter`] counts requests of one kind ([`Bucket`]) from one
//! client ([`ClientKey`]) against a [`Rule`] (`max` per `window`, Better
//! Auth's model: the window opens with the first request and the counter
//! starts over once it has passed). The surfaces decide what to count and
//! when; the limiter knows no HTTP.
//!
//! Memory is bounded: the table holds at most `capacity` counters, all
//! allocated up front (with twice the slots, so that the hash table's
//! tombstones are always cleaned in place and it never grows). A counter
//! whose window is still open is never evicted, so a flood of new addresses
//! cannot push out (and so reset) the counter of an address that is being
//! limited. When a shard is full of open windows, newcomers share one
//! overflow counter per shard and bucket: during such a flood new addresses
//! are limited together, addresses already counted are not affected, and
//! nobody's count is reset. Only counted requests are refused by the
//! overflow counter: [`RateLimiter::check`] lets a client without a counter
//! of its own through, so a flood of failures from many addresses cannot
//! lock out the clients who never failed.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `max` requests per `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Requests allowed in one window.
    pub max: u32,
    /// How long a window lasts.
    pub window: Duration,
}

impl Rule {
    /// `max` per `window`.
    pub const fn new(max: u32, window: Duration) -> Self {
        Rule { max, window }
    }

    fn window_ms(&self) -> u64 {
        u64::try_from(self.window.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }
}

/// Refused: the window is full; it reopens after `retry_after`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limited {
    /// Until the window closes.
    pub retry_after: Duration,
}

impl Limited {
    /// Whole seconds to wait, rounded up and at least 1, for `Retry-After`.
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after.as_millis().div_ceil(1000).max(1) as u64
    }
}

/// A client as the limiter keys it: an IPv4 address (an IPv4-mapped IPv6
/// address counts as its IPv4 address), or an IPv6 address's /64 network,
/// since one host is commonly given a whole /64 (Better Auth's
/// `ipv6Subnet` default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientKey([u8; 16]);

impl ClientKey {
    /// The key of requests whose address is unknown: they share one counter
    /// (what Better Auth does when it cannot tell the address).
    pub const UNKNOWN: ClientKey = ClientKey([0xff; 16]);
}

impl From<IpAddr> for ClientKey {
    fn from(address: IpAddr) -> Self {
        match address.to_canonical() {
            IpAddr::V4(v4) => ClientKey(v4.to_ipv6_mapped().octets()),
            IpAddr::V6(v6) => {
                let mut octets = v6.octets();
                octets[8..].fill(0);
                ClientKey(octets)
            }
        }
    }
}

/// The address a request came from, as the surface resolved it (the
/// socket's peer, or the client a trusted proxy names); `None` when the
/// surface cannot tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddress(pub Option<IpAddr>);

impl From<ClientAddress> for ClientKey {
    fn from(client: ClientAddress) -> Self {
        client.0.map_or(ClientKey::UNKNOWN, ClientKey::from)
    }
}

/// What is being counted, chosen by the caller (a route, a kind of
/// failure); counters of different buckets never mix.
pub type Bucket = u64;

#[derive(Clone, Copy, Debug)]
struct Window {
    start_ms: u64,
    window_ms: u64,
    count: u32,
}

impl Window {
    fn open(now_ms: u64, rule: &Rule) -> Self {
        Window {
            start_ms: now_ms,
            window_ms: rule.window_ms(),
            count: 0,
        }
    }

    fn ends_ms(&self) -> u64 {
        self.start_ms.saturating_add(self.window_ms)
    }

    /// The decision for one more request at `now_ms`, counting it if `count`
    /// and allowed.
    fn step(&mut self, now_ms: u64, rule: &Rule, count: bool) -> Result<(), Limited> {
        if now_ms >= self.ends_ms() {
            *self = Window::open(now_ms, rule);
        }
        if self.count >= rule.max {
            return Err(Limited {
                retry_after: Duration::from_millis(self.ends_ms() - now_ms),
            });
        }
        if count {
            self.count += 1;
        }
        Ok(())
    }
}

struct Shard {
    windows: HashMap<(Bucket, ClientKey), Window>,
    /// Shared by newcomers, per bucket, while the shard is full of open
    /// windows. Buckets are kinds of request (route patterns), so this
    /// stays small; it is capped all the same.
    overflow: HashMap<Bucket, Window>,
    /// No window in the shard closes before this, so a sweep before it
    /// would free nothing.
    next_close_ms: u64,
}

/// Counters per (bucket, client) in a table of fixed capacity. Thread-safe;
/// share it behind an `Arc`.
pub struct RateLimiter {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    // Keys are chosen by clients: a keyed hash, so nobody can aim many keys at one shard.
    hasher: RandomState,
    epoch: Instant,
}

const SHARDS: usize = 64;

/// Overflow counters one shard may hold: more than there are kinds of
/// request to count.
const MAX_OVERFLOW_BUCKETS: usize = 256;

/// Better Auth's in-memory store holds at most this many counters.
pub const DEFAULT_CAPACITY: usize = 100_000;

impl RateLimiter {
    /// A limiter for at most `capacity` counters (at least one per shard).
    pub fn new(capacity: usize) -> Self {
        let per_shard = capacity.div_ceil(SHARDS).max(1);
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    windows: HashMap::with_capacity(2 * per_shard),
                    overflow: HashMap::new(),
                    next_close_ms: 0,
                })
            })
            .collect();
        RateLimiter {
            shards,
            per_shard,
            hasher: RandomState::new(),
            epoch: Instant::now(),
        }
    }

    /// Count one request of `bucket` from `client` under `rule`; `Err` if
    /// the window is already full (a refused request is not counted).
    pub fn hit(&self, bucket: Bucket, client: ClientKey, rule: &Rule) -> Result<(), Limited> {
        self.step(bucket, client, rule, true, self.now_ms())
    }

    /// Whether [`RateLimiter::hit`] would refuse, without counting.
    pub fn check(&self, bucket: Bucket, client: ClientKey, rule: &Rule) -> Result<(), Limited> {
        self.step(bucket, client, rule, false, self.now_ms())
    }

    /// Counters held (open or not yet swept).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).windows.len()).sum()
    }

    /// Whether no counter is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most counters it will ever hold.
    pub fn capacity(&self) -> usize {
        self.per_shard * SHARDS
    }

    /// Bytes the tables have allocated (entries and their control bytes;
    /// the hash map's own bookkeeping aside). Fixed at construction.
    pub fn allocated_bytes(&self) -> usize {
        let entry = std::mem::size_of::<((Bucket, ClientKey), Window)>() + 1;
        self.shards
            .iter()
            .map(|s| lock(s).windows.capacity() * entry)
            .sum()
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn step(
        &self,
        bucket: Bucket,
        client: ClientKey,
        rule: &Rule,
        count: bool,
        now_ms: u64,
    ) -> Result<(), Limited> {
        let key = (bucket, client);
        let index = (self.hasher.hash_one(key) as usize) % self.shards.len();
        let mut shard = lock(&self.shards[index]);
        if let Some(window) = shard.windows.get_mut(&key) {
            return window.step(now_ms, rule, count);
        }
        if !count {
            // No counter of its own: nothing this client did is held against it.
            return Ok(());
        }
        if shard.windows.len() >= self.per_shard && now_ms >= shard.next_close_ms {
            shard.sweep(now_ms);
        }
        if shard.windows.len() < self.per_shard {
            let mut window = Window::open(now_ms, rule);
            let decision = window.step(now_ms, rule, true);
            shard.next_close_ms = shard.next_close_ms.min(window.ends_ms());
            if shard.windows.is_empty() {
                shard.next_close_ms = window.ends_ms();
            }
            shard.windows.insert(key, window);
            return decision;
        }
        if shard.overflow.len() >= MAX_OVERFLOW_BUCKETS && !shard.overflow.contains_key(&bucket) {
            shard.overflow.retain(|_, w| now_ms < w.ends_ms());
            if shard.overflow.len() >= MAX_OVERFLOW_BUCKETS {
                return Ok(());
            }
        }
        shard
            .overflow
            .entry(bucket)
            .or_insert_with(|| Window::open(now_ms, rule))
            .step(now_ms, rule, true)
    }

    #[cfg(test)]
    fn hit_at(
        &self,
        bucket: Bucket,
        client: ClientKey,
        rule: &Rule,
        now_ms: u64,
    ) -> Result<(), Limited> {
        self.step(bucket, client, rule, true, now_ms)
    }
}

impl Shard {
    fn sweep(&mut self, now_ms: u64) {
        self.windows.retain(|_, w| now_ms < w.ends_ms());
        self.next_close_ms = self
            .windows
            .values()
            .map(Window::ends_ms)
            .min()
            .unwrap_or(u64::MAX);
        self.overflow.retain(|_, w| now_ms < w.ends_ms());
    }
}

fn lock(shard: &Mutex<Shard>) -> std::sync::MutexGuard<'_, Shard> {
    // A panic while holding the lock leaves counters, not broken invariants.
    shard
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const RULE: Rule = Rule::new(3, Duration::from_secs(10));

    fn v4(last: u8) -> ClientKey {
        ClientKey::from(IpAddr::V4(Ipv4Addr::new(203, 0, 113, last)))
    }

    #[test]
    fn the_fourth_request_in_a_window_is_refused_until_it_closes() {
        let limiter = RateLimiter::new(1000);
        for t in [0, 1, 2] {
            assert!(limiter.hit_at(1, v4(1), &RULE, t).is_ok());
        }
        let refused = limiter.hit_at(1, v4(1), &RULE, 4_000).unwrap_err();
        assert_eq!(refused.retry_after, Duration::from_millis(6_000));
        assert_eq!(refused.retry_after_secs(), 6);
        assert!(limiter.hit_at(1, v4(1), &RULE, 10_000).is_ok());
    }

    #[test]
    fn buckets_and_clients_are_counted_apart() {
        let limiter = RateLimiter::new(1000);
        for _ in 0..3 {
            limiter.hit_at(1, v4(1), &RULE, 0).unwrap();
        }
        assert!(limiter.hit_at(1, v4(1), &RULE, 0).is_err());
        assert!(limiter.hit_at(2, v4(1), &RULE, 0).is_ok());
        assert!(limiter.hit_at(1, v4(2), &RULE, 0).is_ok());
    }

    #[test]
    fn check_does_not_count() {
        let limiter = RateLimiter::new(1000);
        for _ in 0..10 {
            assert!(limiter.check(1, v4(1), &RULE).is_ok());
        }
        assert!(limiter.is_empty());
    }

    #[test]
    fn ipv6_addresses_of_one_64_share_a_key_and_mapped_ipv4_is_ipv4() {
        let a: Ipv6Addr = "2001:db8:1:2::1".parse().unwrap();
        let b: Ipv6Addr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: Ipv6Addr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(
            ClientKey::from(IpAddr::V6(a)),
            ClientKey::from(IpAddr::V6(b))
        );
        assert_ne!(
            ClientKey::from(IpAddr::V6(a)),
            ClientKey::from(IpAddr::V6(c))
        );
        let mapped = Ipv4Addr::new(203, 0, 113, 1).to_ipv6_mapped();
        assert_eq!(ClientKey::from(IpAddr::V6(mapped)), v4(1));
        assert_ne!(v4(1), v4(2));
    }

    #[test]
    fn a_flood_of_new_addresses_neither_grows_the_table_nor_resets_a_limited_one() {
        let limiter = RateLimiter::new(SHARDS * 4);
        let capacity = limiter.capacity();
        let bytes = limiter.allocated_bytes();
        let victim = v4(1);
        for _ in 0..3 {
            limiter.hit_at(1, victim, &RULE, 0).unwrap();
        }
        for n in 0..100_000u32 {
            let address = Ipv4Addr::from(0x0a00_0000 + n);
            let _ = limiter.hit_at(1, ClientKey::from(IpAddr::V4(address)), &RULE, 1);
        }
        assert!(limiter.len() <= capacity);
        assert_eq!(limiter.allocated_bytes(), bytes);
        assert!(
            limiter.hit_at(1, victim, &RULE, 2).is_err(),
            "the limited address is still limited"
        );
        // Newcomers during the flood share the overflow counter...
        let newcomer = ClientKey::from(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7)));
        assert!(limiter.hit_at(1, newcomer, &RULE, 3).is_err());
        // ...in that bucket only, and a check (not counted) lets them through.
        assert!(limiter.step(2, newcomer, &RULE, true, 3).is_ok());
        assert!(limiter.step(1, newcomer, &RULE, false, 3).is_ok());
        // Once the windows close, the table frees up.
        assert!(limiter.hit_at(1, newcomer, &RULE, 10_001).is_ok());
    }
}
