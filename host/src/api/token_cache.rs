//! Tokens verified once for their lifetime, not once per request: checking
//! an ES256 signature costs more than the rest of a small request. A
//! verified token's caller is kept under the SHA-256 of the token, with the
//! token's validity window, and taken from here until the token expires.
//!
//! Only tokens that verified are kept, so a refused token is checked in
//! full every time. The cache belongs to one verifier,
//! that is to one set of trusted keys: a host that trusts other keys (a new
//! JWKS, read at start) starts with an empty cache, so a token signed by a
//! removed key is never taken from it. The cache is bounded.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

/// The most tokens kept.
pub const CAPACITY: usize = 10_000;

/// Why a kept token is no longer good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stale {
    /// Past its expiry.
    Expired,
    /// Before its `nbf`.
    NotYetValid,
}

/// A verified token's caller and when the token is valid.
struct Entry<P> {
    principal: P,
    not_before: u64,
    expires: u64,
}

/// Verified tokens' callers (`P`), by the tokens' SHA-256.
pub struct TokenCache<P> {
    entries: Mutex<HashMap<[u8; 32], Entry<P>>>,
    leeway: u64,
}

fn key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl<P: Clone> TokenCache<P> {
    /// An empty cache whose tokens are valid `leeway` seconds either side
    /// of their window, as when they are verified in full.
    pub fn new(leeway: u64) -> Self {
        TokenCache {
            entries: Mutex::new(HashMap::new()),
            leeway,
        }
    }

    /// The caller of a token verified before, if it is still valid at
    /// `now` (seconds since the epoch, with the leeway); an expired token
    /// is dropped and refused. `None` if the token is not here.
    pub fn get(&self, token: &str, now: u64) -> Option<Result<P, Stale>> {
        let key = key(token);
        let mut entries = self.entries.lock().ok()?;
        let entry = entries.get(&key)?;
        if now > entry.expires + self.leeway {
            entries.remove(&key);
            return Some(Err(Stale::Expired));
        }
        if now + self.leeway < entry.not_before {
            return Some(Err(Stale::NotYetValid));
        }
        Some(Ok(entry.principal.clone()))
    }

    /// Keeps a token that verified, valid from `not_before` to `expires`.
    pub fn insert(&self, token: &str, principal: &P, not_before: u64, expires: u64, now: u64) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= CAPACITY {
            let leeway = self.leeway;
            entries.retain(|_, e| now <= e.expires + leeway);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(
            key(token),
            Entry {
                principal: principal.clone(),
                not_before,
                expires,
            },
        );
    }

    /// How many tokens are kept.
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    /// Whether no token is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEEWAY_SECS: u64 = 30;

    fn principal() -> String {
        "clinician-1 of Y90001".to_string()
    }

    #[test]
    fn a_token_is_kept_until_it_expires_and_no_longer() {
        let cache = TokenCache::new(LEEWAY_SECS);
        cache.insert("t", &principal(), 1_000, 2_000, 1_000);
        assert!(matches!(cache.get("t", 1_500), Some(Ok(_))));
        assert!(cache.get("other", 1_500).is_none());
        assert!(matches!(cache.get("t", 500), Some(Err(Stale::NotYetValid))));
        assert!(matches!(
            cache.get("t", 2_000 + LEEWAY_SECS + 1),
            Some(Err(Stale::Expired))
        ));
        assert!(
            cache.get("t", 1_500).is_none(),
            "an expired token is dropped"
        );
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = TokenCache::new(LEEWAY_SECS);
        for n in 0..(CAPACITY + 10) {
            cache.insert(&format!("t{n}"), &principal(), 0, 10_000, 100);
        }
        assert!(cache.len() <= CAPACITY);
    }
}
