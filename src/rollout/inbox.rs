//! Orders from people on their way to the rollout in flight: the daemon's
//! control API puts a [`Request`] in the [`Inbox`] and waits for the
//! answer; the executor takes requests between steps (and while it holds),
//! applies each to the record ([`crate::rollout::machine::control`]),
//! saves it, and answers. A request whose asker stopped waiting is dropped
//! unapplied, so a late order never acts on a later rollout.

use super::machine::control::Order;
use std::collections::VecDeque;
use std::sync::Mutex;
use tokio::sync::oneshot;

/// What the rollout answers: what it did, or why it refused.
pub type Answer = Result<String, String>;

/// One order and where its answer goes.
pub struct Request {
    /// The order.
    pub order: Order,
    /// The asker's end.
    pub reply: oneshot::Sender<Answer>,
}

/// Requests not yet taken.
#[derive(Default)]
pub struct Inbox {
    queue: Mutex<VecDeque<Request>>,
}

impl Inbox {
    /// Queues `order`; the receiver gets the answer once a rollout takes it.
    pub fn send(&self, order: Order) -> oneshot::Receiver<Answer> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(Request { order, reply });
        answer
    }

    /// Takes the requests whose askers still wait, oldest first.
    pub fn take(&self) -> Vec<Request> {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        q.drain(..).filter(|r| !r.reply.is_closed()).collect()
    }
}
