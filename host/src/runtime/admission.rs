//! Admission of module calls per organisation: each organisation may run at
//! most so many calls at once, so one organisation's load (or one caller
//! flooding it) cannot take every instance and thread from the others. A
//! call past the limit is refused at once (`503` with `Retry-After`), not
//! queued.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::runtime::call_error::CallError;

/// Counts the calls each organisation has running.
pub struct Admission {
    running: Mutex<HashMap<String, usize>>,
    limit: usize,
}

/// A call admitted; its place is given back when this is dropped.
pub struct Admitted<'a> {
    admission: &'a Admission,
    organisation: String,
}

impl Admission {
    /// At most `limit` calls at once per organisation.
    pub fn new(limit: usize) -> Admission {
        Admission {
            running: Mutex::new(HashMap::new()),
            limit: limit.max(1),
        }
    }

    /// The most calls an organisation may run at once.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Admits one call for an organisation, or refuses it if the
    /// organisation already runs as many as it may.
    pub fn enter(&self, organisation: &str) -> Result<Admitted<'_>, CallError> {
        let busy = || CallError::Busy {
            organisation: organisation.to_string(),
            limit: self.limit,
        };
        let mut running = self.running.lock().map_err(|_| busy())?;
        let count = running.entry(organisation.to_string()).or_default();
        if *count >= self.limit {
            return Err(busy());
        }
        *count += 1;
        Ok(Admitted {
            admission: self,
            organisation: organisation.to_string(),
        })
    }
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        if let Ok(mut running) = self.admission.running.lock()
            && let Some(count) = running.get_mut(&self.organisation)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                running.remove(&self.organisation);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_organisation_past_its_limit_is_refused_and_others_are_not() {
        let admission = Admission::new(2);
        let a = admission.enter("Y90001").expect("first");
        let _b = admission.enter("Y90001").expect("second");
        assert!(matches!(
            admission.enter("Y90001"),
            Err(CallError::Busy { limit: 2, .. })
        ));
        let _other = admission.enter("Y90002").expect("another organisation");
        drop(a);
        let _c = admission.enter("Y90001").expect("a place was given back");
    }
}
