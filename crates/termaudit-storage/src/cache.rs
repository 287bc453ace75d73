//! What nearly every request reads and rarely changes (a project by its slug,
//! a project's policy), kept in memory by each replica.
//!
//! Migration V16 has PostgreSQL `NOTIFY` [`CACHE_CHANNEL`] whenever a row
//! of `projects` or `terminal_policies` changes, whoever changes it (this
//! replica, another one, or someone at `psql`); each replica listens
//! ([`run_cache_listener`](crate::run_cache_listener)) and evicts. The cache
//! serves only while that listener is connected: before its `LISTEN` has
//! taken effect, and from the moment its connection is lost until it is
//! listening again (when everything is dropped), every read goes to the
//! database, so a missed notification never leaves a stale entry behind.
//! A read that began before an invalidation does not store what it read
//! (the epoch below), so a value read just before a change and stored just
//! after its notification cannot outlive it either.

use std::{collections::HashMap, hash::Hash, sync::Mutex};

use uuid::Uuid;

use crate::{PolicyRow, ProjectRow};

/// The channel V16's triggers notify: `<table>:<id>` (a project's id for
/// both tables), or `<table>:` when every row may have changed (TRUNCATE).
pub const CACHE_CHANNEL: &str = "termaudit_cache";

#[derive(Default)]
pub(crate) struct Cache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Whether the listener is connected and listening.
    listening: bool,
    /// Counts invalidations, so a read that began before one stores nothing.
    epoch: u64,
    projects: HashMap<String, ProjectRow>,
    policies: HashMap<Uuid, PolicyRow>,
}

/// What a read that missed the cache needs to store its result: the epoch
/// at which it began, or nothing while the cache does not serve.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket(Option<u64>);

impl Inner {
    fn ticket(&self) -> Ticket {
        Ticket(self.listening.then_some(self.epoch))
    }

    fn get<K: Hash + Eq, V: Clone>(
        &self,
        map: impl Fn(&Self) -> &HashMap<K, V>,
        key: &K,
    ) -> Result<V, Ticket> {
        match map(self).get(key) {
            Some(value) if self.listening => Ok(value.clone()),
            _ => Err(self.ticket()),
        }
    }

    fn put<K: Hash + Eq, V>(
        &mut self,
        map: impl Fn(&mut Self) -> &mut HashMap<K, V>,
        ticket: Ticket,
        key: K,
        value: V,
    ) {
        if self.listening && ticket.0 == Some(self.epoch) {
            map(self).insert(key, value);
        }
    }

    fn clear(&mut self) {
        self.epoch += 1;
        self.projects.clear();
        self.policies.clear();
    }
}

impl Cache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The data is a cache: a panic elsewhere leaves nothing to protect.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn project(&self, slug: &str) -> Result<ProjectRow, Ticket> {
        self.lock().get(|i| &i.projects, &slug.to_owned())
    }

    pub(crate) fn put_project(&self, ticket: Ticket, row: ProjectRow) {
        self.lock().put(|i| &mut i.projects, ticket, row.slug.clone(), row);
    }

    pub(crate) fn policy(&self, project_id: Uuid) -> Result<PolicyRow, Ticket> {
        self.lock().get(|i| &i.policies, &project_id)
    }

    pub(crate) fn put_policy(&self, ticket: Ticket, project_id: Uuid, row: PolicyRow) {
        self.lock().put(|i| &mut i.policies, ticket, project_id, row);
    }

    /// Drops what a change of `project_id`'s policy makes stale.
    pub(crate) fn evict_policy(&self, project_id: Uuid) {
        let mut inner = self.lock();
        inner.epoch += 1;
        inner.policies.remove(&project_id);
    }

    /// Applies one notification of [`CACHE_CHANNEL`]; anything it cannot
    /// read drops everything.
    pub(crate) fn invalidate(&self, payload: &str) {
        let mut inner = self.lock();
        let parsed = payload
            .split_once(':')
            .map(|(table, id)| (table, (!id.is_empty()).then(|| id.parse::<Uuid>())));
        match parsed {
            Some(("projects", Some(Ok(id)))) => {
                inner.epoch += 1;
                inner.projects.retain(|_, row| row.id != id);
                inner.policies.remove(&id);
            }
            Some(("terminal_policies", Some(Ok(id)))) => {
                inner.epoch += 1;
                inner.policies.remove(&id);
            }
            _ => {
                if !matches!(parsed, Some(("projects" | "terminal_policies", None))) {
                    tracing::warn!(payload, "an unreadable cache notification; dropping the cache");
                }
                inner.clear();
            }
        }
    }

    /// The listener is listening: the cache starts empty and serves.
    pub(crate) fn listening(&self) {
        let mut inner = self.lock();
        inner.clear();
        inner.listening = true;
    }

    /// The listener lost its connection (or stopped): nothing is served or
    /// kept until it listens again.
    pub(crate) fn deaf(&self) {
        let mut inner = self.lock();
        inner.clear();
        inner.listening = false;
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use termaudit_domain::TerminalPolicy;

    use super::*;

    fn project(slug: &str) -> ProjectRow {
        ProjectRow {
            id: Uuid::now_v7(),
            slug: slug.into(),
            name: slug.into(),
            created_at: Utc::now(),
        }
    }

    fn policy() -> PolicyRow {
        PolicyRow { policy: TerminalPolicy::default(), updated_at: None, updated_by: None }
    }

    #[test]
    fn nothing_is_served_or_kept_without_a_listener() {
        let cache = Cache::default();
        let ticket = cache.project("a").unwrap_err();
        cache.put_project(ticket, project("a"));
        assert!(cache.project("a").is_err());
        cache.listening();
        let ticket = cache.project("a").unwrap_err();
        cache.put_project(ticket, project("a"));
        assert!(cache.project("a").is_ok());
        cache.deaf();
        assert!(cache.project("a").is_err());
    }

    #[test]
    fn a_read_that_began_before_an_invalidation_stores_nothing() {
        let cache = Cache::default();
        cache.listening();
        let row = project("a");
        let ticket = cache.policy(row.id).unwrap_err();
        cache.invalidate(&format!("terminal_policies:{}", row.id));
        cache.put_policy(ticket, row.id, policy());
        assert!(cache.policy(row.id).is_err());
        // Nor one that began before the listener (re)connected.
        cache.deaf();
        let ticket = cache.project("a").unwrap_err();
        cache.listening();
        cache.put_project(ticket, row);
        assert!(cache.project("a").is_err());
    }

    #[test]
    fn notifications_evict_their_rows_and_unreadable_ones_everything() {
        let cache = Cache::default();
        cache.listening();
        let (a, b) = (project("a"), project("b"));
        for row in [&a, &b] {
            cache.put_project(cache.project(&row.slug).unwrap_err(), row.clone());
            cache.put_policy(cache.policy(row.id).unwrap_err(), row.id, policy());
        }
        cache.invalidate(&format!("terminal_policies:{}", a.id));
        assert!(cache.policy(a.id).is_err());
        assert!(cache.project("a").is_ok());
        cache.invalidate(&format!("projects:{}", b.id));
        assert!(cache.project("b").is_err());
        assert!(cache.policy(b.id).is_err());
        assert!(cache.project("a").is_ok());
        cache.invalidate("projects:");
        assert!(cache.project("a").is_err());
        cache.put_project(cache.project("a").unwrap_err(), a);
        cache.invalidate("nonsense");
        assert!(cache.project("a").is_err());
    }
}
