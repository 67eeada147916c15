//! Shared by the targets that drive async code: everything they run is in
//! memory, so a future must complete on its first poll.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Run a future that must not wait.
pub fn now<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("an in-memory future did not complete at once"),
    }
}
