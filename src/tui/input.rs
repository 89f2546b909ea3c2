//! Terminal input that is read only when it has announced itself.
//!
//! crossterm's `EventStream` waits for input on a thread of its own that holds the event
//! reader's lock while it blocks; every `poll_next` meanwhile tries that lock, spins and
//! yields the CPU a dozen times, then reports nothing. The wizard's loop polls its input
//! first on every turn (each spinner frame, each log record), so an idle dashboard spent a
//! good part of its CPU spinning on a lock. [`WokenInput`] polls the stream only after the
//! stream's own waker has fired (or once at the start, and again after each event, for
//! events already read); in between it answers `Pending` without touching the terminal.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_util::task::{waker, ArcWake, AtomicWaker};

/// A stream of terminal events, polled only when it can have something.
pub struct WokenInput<S> {
    inner: S,
    signal: Arc<InputSignal>,
}

/// What the inner stream's waker does: note that it fired, and wake the wizard's task.
struct InputSignal {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl ArcWake for InputSignal {
    fn wake_by_ref(signal: &Arc<Self>) {
        signal.woken.store(true, Ordering::SeqCst);
        signal.task.wake();
    }
}

impl<S> WokenInput<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            signal: Arc::new(InputSignal {
                // The first poll asks the stream, which arranges its wake-up.
                woken: AtomicBool::new(true),
                task: AtomicWaker::new(),
            }),
        }
    }
}

impl<S: Stream + Unpin> Stream for WokenInput<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        self.signal.task.register(cx.waker());
        // Cleared before the stream is asked: a wake-up while it is being asked is kept.
        if !self.signal.woken.swap(false, Ordering::SeqCst) {
            return Poll::Pending;
        }
        let inner_waker = waker(self.signal.clone());
        let mut inner_cx = Context::from_waker(&inner_waker);
        match Pin::new(&mut self.inner).poll_next(&mut inner_cx) {
            Poll::Ready(item) => {
                // More events may be waiting already read: ask again next time.
                self.signal.woken.store(true, Ordering::SeqCst);
                Poll::Ready(item)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::sync::Mutex;
    use std::task::Waker;

    /// A stream fed by the test: it counts how often it is asked, and keeps the waker of
    /// the last `Pending` as crossterm's waiting thread does.
    #[derive(Clone, Default)]
    struct Fed {
        shared: Arc<Mutex<FedState>>,
    }

    #[derive(Default)]
    struct FedState {
        items: VecDeque<u32>,
        asked: usize,
        waiting: Option<Waker>,
    }

    impl Fed {
        fn send(&self, item: u32) {
            let mut state = self.shared.lock().unwrap();
            state.items.push_back(item);
            if let Some(waiting) = state.waiting.take() {
                waiting.wake();
            }
        }

        fn asked(&self) -> usize {
            self.shared.lock().unwrap().asked
        }
    }

    impl Stream for Fed {
        type Item = u32;

        fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<u32>> {
            let mut state = self.shared.lock().unwrap();
            state.asked += 1;
            match state.items.pop_front() {
                Some(item) => Poll::Ready(Some(item)),
                None => {
                    state.waiting = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        }
    }

    fn poll(input: &mut WokenInput<Fed>) -> Poll<Option<u32>> {
        let waker = futures_util::task::noop_waker();
        Pin::new(input).poll_next(&mut Context::from_waker(&waker))
    }

    #[test]
    fn the_stream_is_asked_only_after_it_woke_and_nothing_is_lost() {
        let fed = Fed::default();
        let mut input = WokenInput::new(fed.clone());
        assert_eq!(poll(&mut input), Poll::Pending);
        assert_eq!(
            fed.asked(),
            1,
            "the first poll asks, to arrange the wake-up"
        );
        for _ in 0..100 {
            assert_eq!(poll(&mut input), Poll::Pending);
        }
        assert_eq!(
            fed.asked(),
            1,
            "polls without a wake-up never reach the terminal"
        );

        fed.send(7);
        fed.send(8);
        assert_eq!(poll(&mut input), Poll::Ready(Some(7)));
        assert_eq!(
            poll(&mut input),
            Poll::Ready(Some(8)),
            "events already read"
        );
        assert_eq!(poll(&mut input), Poll::Pending);
        let asked = fed.asked();
        assert_eq!(poll(&mut input), Poll::Pending);
        assert_eq!(
            fed.asked(),
            asked,
            "quiet again once the stream had nothing"
        );

        fed.send(9);
        assert_eq!(poll(&mut input), Poll::Ready(Some(9)));
    }

    #[test]
    fn the_wizards_task_is_woken_when_input_arrives() {
        struct TaskWoken(AtomicBool);
        impl ArcWake for TaskWoken {
            fn wake_by_ref(flag: &Arc<Self>) {
                flag.0.store(true, Ordering::SeqCst);
            }
        }
        let fed = Fed::default();
        let mut input = WokenInput::new(fed.clone());
        let flag = Arc::new(TaskWoken(AtomicBool::new(false)));
        let task = waker(flag.clone());
        let mut cx = Context::from_waker(&task);
        assert_eq!(Pin::new(&mut input).poll_next(&mut cx), Poll::Pending);
        assert!(!flag.0.load(Ordering::SeqCst));
        fed.send(1);
        assert!(
            flag.0.load(Ordering::SeqCst),
            "the task is woken to read it"
        );
        assert_eq!(
            Pin::new(&mut input).poll_next(&mut cx),
            Poll::Ready(Some(1))
        );
    }
}
