//! What happens when a thread-safe object's strong count reaches zero: the
//! one path shared by a handle's drop, the collector's own count and the
//! drops a pause deferred. Nothing recurses per object: a value whose last
//! handle goes while another value is being dropped on the same thread is
//! queued for the outer drop.

use core::cell::Cell;

use super::boxed::{DROPPED, FINALIZED, Header, HeaderPtr};
use super::heap::op;

/// What the gated step of a drop found.
#[derive(Clone, Copy)]
enum Last {
    /// Other strong handles remain.
    No,
    /// The count reached zero during this thread's own pause: dropped after
    /// it (`heap::Thread::deferred`).
    Deferred,
    /// The collector condemned the object and dropped its value (C3).
    Dead,
    /// The count reached zero; the value is this thread's to drop.
    /// `unlisted`: this step took it out of the thread's nursery (H1), and
    /// the list's weak count goes too; otherwise it was never listed, or is
    /// listed elsewhere and `DROPPED` tells the next pause (H2).
    Gone { unlisted: bool },
}

/// Gives up one strong count of `h`; the last one finalizes and drops the
/// value (outside the gate) and gives up the strong handles' weak share.
///
/// # Safety
///
/// The caller owns one strong count of `h` and does not use it afterwards.
#[expect(
    clippy::inline_always,
    reason = "every drop of a handle; a call here doubled clone + drop (sq microbench)"
)]
#[inline(always)]
pub(crate) unsafe fn drop_strong(h: HeaderPtr) {
    // SAFETY: the caller's strong count keeps the block allocated (Y1).
    let hd = unsafe { h.as_ref() };
    let last = op(|op| {
        if hd.counts.dec_strong(&op.inside) {
            at_zero(op, hd, h)
        } else {
            Last::No
        }
    });
    if !matches!(last, Last::No) {
        // SAFETY: the gated step's verdict, on a block this count kept.
        unsafe { finish(h, last) };
    }
}

/// The gated step at count zero.
#[cold]
#[inline(never)]
#[expect(
    clippy::needless_pass_by_value,
    reason = "by value the operation stays in two registers; by reference every drop's fast path \
              stored it to the stack first"
)]
fn at_zero(op: super::heap::Op<'_>, hd: &Header, h: HeaderPtr) -> Last {
    if op.in_pause() {
        // The collecting thread has its state (it runs `collect`).
        super::heap::with_thread(|t| {
            if let Some(t) = t {
                t.deferred.borrow_mut().push(h);
            }
        });
        return Last::Deferred;
    }
    gone(&op, hd, h)
}

/// The gated step at count zero, outside a pause.
fn gone(op: &super::heap::Op<'_>, hd: &Header, h: HeaderPtr) -> Last {
    if hd.counts.is_dead() {
        return Last::Dead;
    }
    if !hd.tracked() {
        return Last::Gone { unlisted: false };
    }
    let unlisted = op.unlist(h);
    Last::Gone { unlisted }
}

/// After the gated step.
///
/// # Safety
///
/// `last` is what the gated step found for `h`, whose block the caller's
/// count kept allocated.
#[cold]
#[inline(never)]
unsafe fn finish(h: HeaderPtr, last: Last) {
    match last {
        Last::No | Last::Deferred => {}
        Last::Dead => {
            // The collector dropped the value (Y2).
            // SAFETY: the caller's count kept the block.
            unsafe { h.as_ref() }.set_state(DROPPED);
            // SAFETY: the strong handles' weak share goes with the last of
            // them (Y1).
            unsafe { Header::release_weak(h) };
        }
        Last::Gone { unlisted } => {
            // SAFETY: the count is zero and this thread took it there: the
            // value is its own (C1), initialised (Y2).
            unsafe { drop_value(h) };
            if unlisted {
                // SAFETY: `unlist` took the block out of the nursery, whose
                // weak count this is (Y1).
                unsafe { Header::release_weak(h) };
            }
        }
    }
}

/// The queue of values whose last handle went while another value was
/// being dropped on this thread.
type Queue = Vec<HeaderPtr>;

thread_local! {
    /// The outermost drop's [`Queue`] while one is under way on this thread
    /// (null otherwise): the outermost drop drops the queued values in
    /// turn, so that dropping a long list does not recurse per object. A
    /// thread-local with no destructor, so that it still works in a late
    /// thread-local destructor.
    static PENDING: Cell<*mut Queue> = const { Cell::new(core::ptr::null_mut()) };
}

/// The outermost drop's queue: frees it and clears [`PENDING`] when that
/// drop ends, also by a panic (the values still queued then leak: never
/// dropped, never freed).
struct Outermost(*mut Queue);

impl Drop for Outermost {
    fn drop(&mut self) {
        PENDING.set(core::ptr::null_mut());
        // SAFETY: made by `Box::into_raw` in `drop_value`; `PENDING` no
        // longer points to it, and nothing else does.
        drop(unsafe { Box::from_raw(self.0) });
    }
}

/// Finalizes (once) and drops the value of `h`, whose strong count this
/// thread took to zero, then gives up the strong handles' weak share; or,
/// if a drop is already under way on this thread, queues it for that one.
///
/// # Safety
///
/// The caller owns the value (count zero by its drop, C1), initialised.
unsafe fn drop_value(h: HeaderPtr) {
    let pending = PENDING.get();
    if !pending.is_null() {
        // SAFETY: the outermost drop's queue, alive until it clears
        // `PENDING`; only this thread touches it, and no reference to it is
        // held across a drop (each use is this one call).
        unsafe { (*pending).push(h) };
        return;
    }
    let queue = Outermost(Box::into_raw(Box::new(Queue::new())));
    PENDING.set(queue.0);
    let mut next = Some(h);
    while let Some(h) = next {
        // SAFETY: the caller's contract for the first; each queued one was
        // queued by a caller with the same contract.
        unsafe { drop_one(h) };
        // SAFETY: as above: the queue lives until `queue` drops, and this
        // is the only reference to it now.
        next = unsafe { (*queue.0).pop() };
    }
}

/// [`drop_value`] for one value.
///
/// # Safety
///
/// As [`drop_value`].
unsafe fn drop_one(h: HeaderPtr) {
    // SAFETY: the value is the caller's and initialised; the strong share
    // keeps the block until the end of this function (Y1).
    let hd = unsafe { h.as_ref() };
    if hd.state() & FINALIZED == 0 {
        hd.set_state(FINALIZED);
        // SAFETY: as above: nobody else can reach the value (C1).
        unsafe { Header::finalize(h) };
    }
    // SAFETY: as above; dropped once (Y2).
    unsafe { Header::drop_value(h) };
    // The value is gone (Y2); a listed one is unlisted by the next pause
    // (H2). `Release` orders the drop first.
    hd.set_state(DROPPED);
    // SAFETY: the strong handles' share, given up after the value (Y1).
    unsafe { Header::release_weak(h) };
}

/// Drops, after a pause, an object whose last handle went during it on
/// the collecting thread.
///
/// # Safety
///
/// `h`'s count went to zero on this thread during its pause, which left its
/// value and block alone (`drop_strong`); each such `h` is given here once.
pub(crate) unsafe fn drop_deferred(h: HeaderPtr) {
    // SAFETY: the value is this thread's (C1), and the strong share keeps
    // the block (the caller's contract).
    let hd = unsafe { h.as_ref() };
    let last = op(|op| gone(&op, hd, h));
    // SAFETY: as above.
    unsafe { finish(h, last) };
}

/// After a value was moved out of `h` (`try_unwrap`, count taken to zero
/// by the caller inside the gate): tells the lists and gives up the strong
/// share.
///
/// # Safety
///
/// The caller took the count to zero and moved the value out; `unlisted`
/// is what `Op::unlist` returned for a tracked object (`true` for an
/// untracked one).
pub(crate) unsafe fn moved_out(h: HeaderPtr, unlisted: bool) {
    // SAFETY: the strong share keeps the block allocated (Y1).
    let hd = unsafe { h.as_ref() };
    // The value left (Y2); a listed one is unlisted by the next pause (H2).
    hd.set_state(DROPPED);
    if hd.tracked() && unlisted {
        // SAFETY: the nursery's weak count, given up by `unlist`.
        unsafe { Header::release_weak(h) };
    }
    // SAFETY: the strong share, after the value left (Y1).
    unsafe { Header::release_weak(h) };
}
