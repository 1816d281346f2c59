//! Entries and records on their way to the remote cache: a queue of keys and a few threads
//! that stream each entry from the local cache to the remote, so that a render never waits
//! for the network. Memory stays bounded: the queue holds keys (and records of a few kB),
//! and each thread the pieces of one entry on their way.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{Remote, lock};
use crate::cache::Key;
use crate::cache::storage::Storage;

/// Uploads running at once: the network, not the CPU, is what they wait on, and each holds
/// two pieces in memory.
pub(super) const UPLOADERS: usize = 2;

/// How often the wait at the end reports progress when no upload finishes.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

#[derive(Debug, Default)]
pub struct Uploads {
    queue: Mutex<Queue>,
    /// Wakes an uploader: a key was queued, or the queue closed.
    wake: Condvar,
    /// Wakes the wait at the end: an upload finished.
    finished_one: Condvar,
    queued: AtomicU64,
    done: AtomicU64,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

#[derive(Debug, Default)]
struct Queue {
    waiting: VecDeque<(Key, Payload)>,
    closing: bool,
}

/// What to upload under a key.
#[derive(Debug)]
pub enum Payload {
    /// The entry of that key, read from where it is kept as it is sent.
    Entry(Arc<dyn Storage>),
    /// A few bytes (a record), held until sent.
    Bytes(Vec<u8>),
}

impl Uploads {
    /// Queues `payload` to go under `key`, and starts an uploader if fewer than
    /// [`UPLOADERS`] run.
    pub fn push(&self, remote: &Arc<Remote>, key: Key, payload: Payload) {
        lock(&self.queue).waiting.push_back((key, payload));
        self.queued.fetch_add(1, Ordering::AcqRel);
        self.wake.notify_one();
        let mut workers = lock(&self.workers);
        if workers.len() < UPLOADERS {
            let remote = Arc::clone(remote);
            workers.push(std::thread::spawn(move || run(&remote)));
        }
    }

    /// Queued and finished so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.queued.load(Ordering::Acquire), self.done.load(Ordering::Acquire))
    }

    /// Lets the uploaders finish the queue, reporting progress, and waits for them. Each
    /// finished upload wakes the wait, so the process exits as soon as the last one is
    /// done, not at the next tick of the progress line.
    pub fn finish(&self, progress: &dyn Fn(u64, u64)) {
        let workers = std::mem::take(&mut *lock(&self.workers));
        let mut queue = lock(&self.queue);
        queue.closing = true;
        self.wake.notify_all();
        loop {
            let (queued, done) = self.counts();
            progress(done, queued);
            if done >= queued || workers.iter().all(JoinHandle::is_finished) {
                break;
            }
            queue = self
                .finished_one
                .wait_timeout(queue, PROGRESS_EVERY)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
        drop(queue);
        for worker in workers {
            let _ = worker.join();
        }
    }
}

/// One uploader: takes keys until the queue is closed and empty.
fn run(remote: &Remote) {
    let uploads = &remote.uploads;
    loop {
        let next = {
            let mut queue = lock(&uploads.queue);
            loop {
                if let Some(next) = queue.waiting.pop_front() {
                    break Some(next);
                }
                if queue.closing {
                    break None;
                }
                queue = uploads.wake.wait(queue).unwrap_or_else(std::sync::PoisonError::into_inner);
            }
        };
        let Some((key, payload)) = next else { return };
        remote.upload(&key, payload);
        // Counted under the lock, so the wait at the end cannot miss the wake-up.
        let _queue = lock(&uploads.queue);
        uploads.done.fetch_add(1, Ordering::AcqRel);
        uploads.finished_one.notify_all();
    }
}
