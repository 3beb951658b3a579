//! What happens when a thread-safe object's strong count reaches zero: the
//! one path shared by a handle's drop, the collector's own count and the
//! drops a pause deferred. Nothing recurses per object: a value whose last
//! handle goes while another value is being dropped on the same thread is
//! queued for the outer drop.

use core::cell::RefCell;

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
    /// The count reached zero; the value is this thread's to drop. `true`:
    /// it is still listed elsewhere (H2), so `DROPPED` tells the next
    /// pause; `false`: unlisted (or never listed).
    Gone { listed: bool, unlisted: bool },
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
fn at_zero(op: &super::heap::Op<'_>, hd: &Header, h: HeaderPtr) -> Last {
    if op.in_pause() {
        // The collecting thread has its state (it runs `collect`).
        super::heap::with_thread(|t| {
            if let Some(t) = t {
                t.deferred.borrow_mut().push(h);
            }
        });
        return Last::Deferred;
    }
    gone(op, hd, h)
}

/// The gated step at count zero, outside a pause.
fn gone(op: &super::heap::Op<'_>, hd: &Header, h: HeaderPtr) -> Last {
    if hd.counts.is_dead() {
        return Last::Dead;
    }
    if !hd.tracked() {
        return Last::Gone {
            listed: false,
            unlisted: false,
        };
    }
    let unlisted = op.unlist(h);
    Last::Gone {
        listed: !unlisted,
        unlisted,
    }
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
        // SAFETY: the collector dropped the value; the strong handles'
        // weak share goes with the last of them (Y1).
        Last::Dead => unsafe { Header::release_weak(h) },
        Last::Gone { listed, unlisted } => {
            // SAFETY: the count is zero and this thread took it there: the
            // value is its own (C1), initialised (Y2).
            unsafe { drop_value(h, listed) };
            if unlisted {
                // SAFETY: `unlist` took the block out of the nursery, whose
                // weak count this is (Y1).
                unsafe { Header::release_weak(h) };
            }
        }
    }
}

thread_local! {
    /// Values whose last handle went while another value was being dropped
    /// on this thread (`Some` while one is): the outermost drop drops them in
    /// turn, so that dropping a long list does not recurse per object.
    static PENDING: RefCell<Option<Vec<(HeaderPtr, bool)>>> = const { RefCell::new(None) };
}

/// Clears [`PENDING`] when the outermost drop ends, also by a panic (the
/// values still queued then leak: never dropped, never freed).
struct Outermost;

impl Drop for Outermost {
    fn drop(&mut self) {
        let _ = PENDING.try_with(|p| p.borrow_mut().take());
    }
}

/// Finalizes (once) and drops the value of `h`, whose strong count this
/// thread took to zero, then gives up the strong handles' weak share; or,
/// if a drop is already under way on this thread, queues it for that one.
///
/// # Safety
///
/// The caller owns the value (count zero by its drop, C1), initialised.
unsafe fn drop_value(h: HeaderPtr, listed: bool) {
    let queued = PENDING.try_with(|p| {
        let mut p = p.borrow_mut();
        if let Some(q) = p.as_mut() {
            q.push((h, listed));
            true
        } else {
            *p = Some(Vec::new());
            false
        }
    });
    match queued {
        Ok(true) => return,
        Ok(false) => {}
        Err(_) => {
            // Thread-locals are gone (a late destructor): drop it here.
            // SAFETY: the caller's contract.
            unsafe { drop_one(h, listed) };
            return;
        }
    }
    let _outermost = Outermost;
    let mut next = Some((h, listed));
    while let Some((h, listed)) = next {
        // SAFETY: the caller's contract for the first; each queued one was
        // queued by a caller with the same contract.
        unsafe { drop_one(h, listed) };
        next = PENDING.with(|p| p.borrow_mut().as_mut().and_then(Vec::pop));
    }
}

/// [`drop_value`] for one value.
///
/// # Safety
///
/// As [`drop_value`].
unsafe fn drop_one(h: HeaderPtr, listed: bool) {
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
    if listed {
        // H2: the next pause unlists it; `Release` orders the drop first.
        hd.set_state(DROPPED);
    }
    // SAFETY: the strong handles' share, given up after the value (Y1).
    unsafe { Header::release_weak(h) };
}

/// Drops, after a pause, the objects whose last handle went during it on
/// the collecting thread.
pub(crate) fn run_deferred(deferred: Vec<HeaderPtr>) {
    for h in deferred {
        // SAFETY: each deferred object's count went to zero on this thread
        // during the pause, which left its value and block alone: the value
        // is this thread's (C1), and the strong share keeps the block.
        let hd = unsafe { h.as_ref() };
        let last = op(|op| gone(op, hd, h));
        // SAFETY: as above.
        unsafe { finish(h, last) };
    }
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
    if hd.tracked() {
        if unlisted {
            // SAFETY: the nursery's weak count, given up by `unlist`.
            unsafe { Header::release_weak(h) };
        } else {
            hd.set_state(DROPPED);
        }
    }
    // SAFETY: the strong share, after the value left (Y1).
    unsafe { Header::release_weak(h) };
}
