//! The in-memory bookkeeping of one service's jobs: every known job, the request-id index, the
//! waiting queue (FIFO) and the running set, with the admission rule.
//!
//! Pure data, no I/O: the manager holds it under a short synchronous lock.

use std::collections::{BTreeMap, HashMap, VecDeque};

use tokio::task::AbortHandle;

use crate::JobLimits;

/// Jobs of one service. `E` is the per-job entry the manager keeps.
pub(crate) struct Scheduler<E> {
    jobs: HashMap<String, E>,
    by_request: HashMap<String, String>,
    by_index: BTreeMap<u64, String>,
    waiting: VecDeque<String>,
    running: HashMap<String, AbortHandle>,
    next_index: u64,
    accepting: bool,
}

impl<E: Clone> Scheduler<E> {
    /// An empty scheduler that accepts work.
    pub(crate) fn new() -> Self {
        Self {
            jobs: HashMap::new(),
            by_request: HashMap::new(),
            by_index: BTreeMap::new(),
            waiting: VecDeque::new(),
            running: HashMap::new(),
            next_index: 1,
            accepting: true,
        }
    }

    /// Registers a job (known, not yet waiting or running).
    pub(crate) fn insert(&mut self, job_id: &str, request_id: &str, submit_index: u64, entry: E) {
        self.jobs.insert(job_id.to_owned(), entry);
        if !request_id.is_empty() {
            self.by_request
                .insert(request_id.to_owned(), job_id.to_owned());
        }
        self.by_index.insert(submit_index, job_id.to_owned());
        self.next_index = self.next_index.max(submit_index + 1);
    }

    /// The entry of `job_id`.
    pub(crate) fn get(&self, job_id: &str) -> Option<&E> {
        self.jobs.get(job_id)
    }

    /// The entry of the job submitted with `request_id`.
    pub(crate) fn by_request(&self, request_id: &str) -> Option<&E> {
        self.by_request
            .get(request_id)
            .and_then(|job_id| self.jobs.get(job_id))
    }

    /// The submit index the next new job gets.
    pub(crate) fn next_index(&self) -> u64 {
        self.next_index
    }

    /// Whether a new job fits: running plus waiting jobs stay within
    /// `max_running + max_queued`.
    pub(crate) fn has_room(&self, limits: &JobLimits) -> bool {
        self.running.len() + self.waiting.len() < limits.max_running + limits.max_queued
    }

    /// Jobs running and waiting.
    pub(crate) fn load(&self) -> (usize, usize) {
        (self.running.len(), self.waiting.len())
    }

    /// Appends a job to the waiting queue.
    pub(crate) fn enqueue(&mut self, job_id: &str) {
        self.waiting.push_back(job_id.to_owned());
    }

    /// Puts a job back at the head of the queue (after a failed cancellation write).
    pub(crate) fn requeue_first(&mut self, job_id: &str) {
        self.waiting.push_front(job_id.to_owned());
    }

    /// Removes a job from the waiting queue; false when it was not waiting.
    pub(crate) fn remove_waiting(&mut self, job_id: &str) -> bool {
        let before = self.waiting.len();
        self.waiting.retain(|waiting| waiting != job_id);
        self.waiting.len() != before
    }

    /// The next waiting job to start, when a slot is free and the service accepts work.
    pub(crate) fn next_to_start(&mut self, limits: &JobLimits) -> Option<(String, E)> {
        if !self.accepting || self.running.len() >= limits.max_running {
            return None;
        }
        let job_id = self.waiting.pop_front()?;
        let entry = self.jobs.get(&job_id)?.clone();
        Some((job_id, entry))
    }

    /// Records that `job_id` runs in the task behind `handle`.
    pub(crate) fn mark_running(&mut self, job_id: String, handle: AbortHandle) {
        self.running.insert(job_id, handle);
    }

    /// Frees the slot of a job whose task ended.
    pub(crate) fn mark_finished(&mut self, job_id: &str) {
        self.running.remove(job_id);
    }

    /// Entries of the running jobs.
    pub(crate) fn running_entries(&self) -> Vec<E> {
        self.running
            .keys()
            .filter_map(|job_id| self.jobs.get(job_id).cloned())
            .collect()
    }

    /// Stops accepting and starting work; returns the running tasks' abort handles.
    pub(crate) fn close(&mut self) -> Vec<AbortHandle> {
        self.accepting = false;
        self.running.values().cloned().collect()
    }

    /// Whether new jobs are accepted.
    pub(crate) fn is_accepting(&self) -> bool {
        self.accepting
    }

    /// Entries newest first, starting below submit index `before` (all when `None`), that pass
    /// `keep`, at most `limit` of them, with the submit index of the last one returned when more
    /// may follow.
    pub(crate) fn page(
        &self,
        before: Option<u64>,
        limit: usize,
        mut keep: impl FnMut(&E) -> bool,
    ) -> (Vec<E>, Option<u64>) {
        let upper = before.unwrap_or(u64::MAX);
        let mut page = Vec::new();
        let mut candidates = self.by_index.range(..upper).rev().peekable();
        while let Some((&index, job_id)) = candidates.next() {
            let Some(entry) = self.jobs.get(job_id) else {
                continue;
            };
            if !keep(entry) {
                continue;
            }
            page.push(entry.clone());
            if page.len() == limit {
                let more = candidates.peek().is_some();
                return (page, more.then_some(index));
            }
        }
        (page, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_running: usize, max_queued: usize) -> JobLimits {
        JobLimits {
            max_running,
            max_queued,
            ..JobLimits::default()
        }
    }

    fn handle() -> AbortHandle {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(async { tokio::spawn(async {}).abort_handle() })
    }

    #[test]
    fn admission_counts_running_and_waiting() {
        let limits = limits(1, 1);
        let mut scheduler: Scheduler<u32> = Scheduler::new();
        assert!(scheduler.has_room(&limits));
        scheduler.insert("a", "", 1, 1);
        scheduler.enqueue("a");
        let (id, _) = scheduler.next_to_start(&limits).unwrap();
        scheduler.mark_running(id, handle());
        assert!(scheduler.has_room(&limits));
        scheduler.insert("b", "", 2, 2);
        scheduler.enqueue("b");
        assert!(!scheduler.has_room(&limits));
        assert!(scheduler.next_to_start(&limits).is_none(), "slot is busy");
        scheduler.mark_finished("a");
        assert_eq!(scheduler.next_to_start(&limits).unwrap().0, "b");
    }

    #[test]
    fn zero_queue_still_admits_up_to_the_worker_count() {
        let limits = limits(2, 0);
        let mut scheduler: Scheduler<u32> = Scheduler::new();
        for (index, id) in ["a", "b"].into_iter().enumerate() {
            assert!(scheduler.has_room(&limits));
            scheduler.insert(id, "", index as u64 + 1, 0);
            scheduler.enqueue(id);
            let (id, _) = scheduler.next_to_start(&limits).unwrap();
            scheduler.mark_running(id, handle());
        }
        assert!(!scheduler.has_room(&limits));
    }

    #[test]
    fn fifo_order_cancel_and_close() {
        let limits = limits(1, 8);
        let mut scheduler: Scheduler<u32> = Scheduler::new();
        for (index, id) in ["a", "b", "c"].into_iter().enumerate() {
            scheduler.insert(id, &format!("req-{id}"), index as u64 + 1, index as u32);
            scheduler.enqueue(id);
        }
        assert_eq!(scheduler.by_request("req-b"), Some(&1));
        assert!(scheduler.remove_waiting("b"));
        assert!(!scheduler.remove_waiting("b"));
        assert_eq!(scheduler.next_to_start(&limits).unwrap().0, "a");
        scheduler.close();
        assert!(!scheduler.is_accepting());
        assert!(scheduler.next_to_start(&limits).is_none());
    }

    #[test]
    fn pages_newest_first_with_filter() {
        let mut scheduler: Scheduler<u64> = Scheduler::new();
        for index in 1..=7u64 {
            scheduler.insert(&format!("j{index}"), "", index, index);
        }
        assert_eq!(scheduler.next_index(), 8);
        let (first, token) = scheduler.page(None, 3, |_| true);
        assert_eq!(first, vec![7, 6, 5]);
        assert_eq!(token, Some(5));
        let (second, token) = scheduler.page(token, 3, |_| true);
        assert_eq!(second, vec![4, 3, 2]);
        let (third, token) = scheduler.page(token, 3, |_| true);
        assert_eq!((third, token), (vec![1], None));

        let (odd, token) = scheduler.page(None, 10, |index| index % 2 == 1);
        assert_eq!((odd, token), (vec![7, 5, 3, 1], None));
        // An exactly full last page has no token when nothing follows.
        let (exact, token) = scheduler.page(Some(3), 2, |_| true);
        assert_eq!((exact, token), (vec![2, 1], None));
    }
}
