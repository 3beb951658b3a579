//! The one process-wide heap of thread-safe objects: its gate, the lists
//! that hold its tracked objects, each thread's state, and the counters
//! that decide when a collection is due.
//!
//! # Where a tracked object is listed
//!
//! - **H1 (nursery).** A new tracked object goes into its thread's
//!   *nursery*, inside the gate, with `owner` set to that thread's
//!   [`Local`] and `pos` to its index. Only that thread changes its
//!   nursery, and only inside the gate; a pause changes any nursery (the
//!   gate's G2 orders the two). So its owner can take an object out of its
//!   nursery at once when the object's last handle goes on that thread.
//! - **H2 (shared list).** A pause moves every nursery into the shared
//!   list (`owner` null). An object of the shared list, or of another
//!   thread's nursery, whose last handle goes stays listed with `DROPPED`
//!   set once its value is gone; the next pause takes it out.
//! - **H3 (thread exit).** A thread that exits marks its `Local` exited,
//!   inside the gate, and leaves its slot registered; the next pause moves
//!   its nursery and takes the slot out (gate `retire`). Nothing allocates
//!   there, and the thread's other thread-locals may already be gone: an
//!   operation that finds this module's thread-local destroyed registers a
//!   slot of its own for the one operation, retired the same way.
//! - **H4 (no allocation inside).** A nursery grows outside the gate: a
//!   bigger buffer is allocated first, and only moved into place inside.

use core::cell::{Cell, RefCell, UnsafeCell};
use core::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::boxed::{HeaderPtr, LISTED};
use super::gate::{Gate, Inside, Registration, Slot, Stopped};

/// One thread's data at the gate (H1, H3).
#[derive(Debug, Default)]
pub(crate) struct Local {
    /// H1.
    nursery: UnsafeCell<Vec<HeaderPtr>>,
    /// H3.
    exited: AtomicBool,
}

// SAFETY: `nursery` is read and written only by its thread inside the gate,
// or by a pause (H1); the gate orders the two (G2), so there is no data race.
// The `HeaderPtr`s in it point at blocks any thread may use (their values are
// `Send + Sync`).
unsafe impl Sync for Local {}
// SAFETY: as above; the nursery moves between threads only through a pause.
unsafe impl Send for Local {}

/// The shared list (H2), locked only during a pause.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) list: Vec<HeaderPtr>,
}

// SAFETY: the blocks the list points at belong to the heap, whose values are
// `Send + Sync`; the list is only used under its mutex.
unsafe impl Send for Shared {}

/// The process-wide heap.
#[derive(Debug)]
pub(crate) struct Heap {
    pub(crate) gate: Gate<Local>,
    /// H2; locked by a pause only, after the graph stopped.
    shared: Mutex<Shared>,
    /// Automatic collection is on.
    pub(crate) enabled: AtomicBool,
    /// Tracked allocations since the last collection that start one.
    pub(crate) threshold: AtomicUsize,
    /// Tracked allocations since the last collection, flushed from the
    /// threads' counters every [`FLUSH`].
    pub(crate) allocated: AtomicUsize,
    /// Tracked objects listed after the last collection.
    pub(crate) survivors: AtomicUsize,
}

/// A thread adds its allocations to the heap's counter this many at a time
/// (no process-wide counter is touched per operation).
pub(crate) const FLUSH: usize = 256;

/// The default [`Heap::threshold`].
pub(crate) const DEFAULT_THRESHOLD: usize = 10_000;

impl Heap {
    const fn new() -> Heap {
        Heap {
            gate: Gate::new(),
            shared: Mutex::new(Shared { list: Vec::new() }),
            enabled: AtomicBool::new(true),
            threshold: AtomicUsize::new(DEFAULT_THRESHOLD),
            allocated: AtomicUsize::new(0),
            survivors: AtomicUsize::new(0),
        }
    }
}

/// The heap.
pub(crate) static HEAP: Heap = Heap::new();

/// This thread's registration and its collector state.
#[derive(Debug)]
pub(crate) struct Thread {
    reg: Option<Registration<'static, Local>>,
    /// Tracked allocations not yet flushed to `HEAP.allocated`.
    allocs: Cell<usize>,
    /// Operations this thread ran during its own pause (they pass the
    /// gate, G3): the analysis keeps everything if a `trace` ran one.
    pub(crate) pause_ops: Cell<usize>,
    /// Objects whose last handle went during this thread's pause: dropped
    /// after it.
    pub(crate) deferred: RefCell<Vec<HeaderPtr>>,
    /// This thread is inside `collect` (a nested one does nothing).
    pub(crate) collecting: Cell<bool>,
}

impl Thread {
    fn new() -> Thread {
        Thread {
            reg: Some(HEAP.gate.register(Local::default())),
            allocs: Cell::new(0),
            pause_ops: Cell::new(0),
            deferred: RefCell::new(Vec::new()),
            collecting: Cell::new(false),
        }
    }

    /// The registration.
    #[inline]
    pub(crate) fn reg(&self) -> &Registration<'static, Local> {
        match &self.reg {
            Some(r) => r,
            None => unreachable!("registered until dropped"),
        }
    }
}

impl Drop for Thread {
    fn drop(&mut self) {
        // The fast paths no longer find this thread's state (`op`).
        CURRENT.set(core::ptr::null());
        SLOT.set(core::ptr::null());
        self.flush();
        if let Some(reg) = self.reg.take() {
            retire(reg);
        }
    }
}

/// H3: marks `reg`'s thread exited (inside the gate, so a pause sees the
/// whole nursery) and leaves its slot for the next pause.
fn retire(reg: Registration<'static, Local>) {
    {
        let _inside = HEAP.gate.enter(&reg);
        reg.local().exited.store(true, Relaxed);
    }
    reg.retire();
}

thread_local! {
    static THREAD: Thread = Thread::new();
    /// `THREAD`'s address once it is initialised, null before and from the
    /// start of its destructor: the operations' fast way to it (a
    /// thread-local with no destructor needs no liveness check).
    static CURRENT: Cell<*const Thread> = const { Cell::new(core::ptr::null()) };
    /// The slot of `THREAD`'s registration, null while `CURRENT` is: what
    /// an operation needs, one load away.
    static SLOT: Cell<*const Slot<Local>> = const { Cell::new(core::ptr::null()) };
}

/// Runs `f` with this thread's state, or `None` once it is destroyed.
pub(crate) fn with_thread<R>(f: impl FnOnce(Option<&Thread>) -> R) -> R {
    let current = CURRENT.get();
    if !current.is_null() {
        // SAFETY: `CURRENT` holds `THREAD`'s address only while it lives:
        // set once it is initialised, cleared first thing in its destructor.
        return f(Some(unsafe { &*current }));
    }
    with_thread_slow(f)
}

/// [`with_thread`] before `THREAD` is initialised, or once it is destroyed.
#[cold]
#[inline(never)]
fn with_thread_slow<R>(f: impl FnOnce(Option<&Thread>) -> R) -> R {
    let mut f = Some(f);
    let r = THREAD.try_with(|t| {
        CURRENT.set(core::ptr::from_ref(t));
        SLOT.set(core::ptr::from_ref(t.reg().slot()));
        (f.take().expect("called once"))(Some(t))
    });
    match r {
        Ok(r) => r,
        Err(_) => (f.take().expect("not called"))(None),
    }
}

/// An operation inside the gate.
pub(crate) struct Op<'t> {
    pub(crate) inside: Inside<'t>,
    local: &'t Local,
}

impl Op<'_> {
    /// Whether this operation runs during its own thread's pause (then a
    /// last handle's drop is deferred).
    pub(crate) fn in_pause(&self) -> bool {
        self.inside.in_pause()
    }

    /// The nursery (H1).
    #[expect(clippy::mut_from_ref, reason = "the gate makes it exclusive (H1)")]
    fn nursery(&self) -> &mut Vec<HeaderPtr> {
        // SAFETY: H1: only this thread touches its nursery inside the gate,
        // and this operation is inside; no other reference to it is alive
        // (each use below is one call that does not re-enter).
        unsafe { &mut *self.local.nursery.get() }
    }

    /// Whether this thread may take the value of the object `hd` out or
    /// lend it out mutably now: not during its own pause, unless the object
    /// is one of its own new ones, which the pause does not examine (the
    /// shared list holds the ones it does).
    pub(crate) fn may_own(&self, hd: &super::boxed::Header) -> bool {
        !self.in_pause()
            || !hd.tracked()
            || hd.owner() == core::ptr::from_ref(self.local).cast_mut().cast()
    }

    /// Whether the nursery has room for one more (H4).
    pub(crate) fn has_room(&self) -> bool {
        let n = self.nursery();
        n.len() < n.capacity()
    }

    /// Lists `h`, a new tracked object, in this thread's nursery (H1).
    ///
    /// # Panics
    ///
    /// Panics (in debug builds) if the nursery has no room (H4).
    pub(crate) fn list(&self, h: HeaderPtr) {
        let n = self.nursery();
        debug_assert!(
            n.len() < n.capacity(),
            "sync heap: allocation inside the gate"
        );
        // SAFETY: the caller's new block is allocated (boxed Y1).
        let hd = unsafe { h.as_ref() };
        hd.set_pos(n.len());
        hd.set_owner(core::ptr::from_ref(self.local).cast_mut().cast());
        n.push(h);
    }

    /// Takes `h`, whose last handle just went, out of this thread's
    /// nursery if it is there (H1); `false` if another list holds it (H2).
    /// On `true` the caller releases the list's weak count.
    pub(crate) fn unlist(&self, h: HeaderPtr) -> bool {
        // SAFETY: the caller holds the block (it owns the last handle).
        let hd = unsafe { h.as_ref() };
        if hd.owner() != core::ptr::from_ref(self.local).cast_mut().cast() {
            return false;
        }
        let n = self.nursery();
        let pos = hd.pos();
        assert!(
            n.get(pos) == Some(&h),
            "sync heap: an object's position is not its nursery index (H1)"
        );
        n.swap_remove(pos);
        if let Some(&moved) = n.get(pos) {
            // SAFETY: listed blocks are allocated (the list's weak count).
            unsafe { moved.as_ref() }.set_pos(pos);
        }
        hd.clear_state(LISTED);
        true
    }

    /// Moves the nursery into `bigger` (H4), whose capacity exceeds it.
    pub(crate) fn grow_into(&self, bigger: &mut Vec<HeaderPtr>) {
        let n = self.nursery();
        if bigger.capacity() > n.len() {
            bigger.extend_from_slice(n);
            n.clear();
            core::mem::swap(n, bigger);
        }
    }

    /// The nursery's capacity, to size a bigger one (H4).
    pub(crate) fn capacity(&self) -> usize {
        self.nursery().capacity()
    }
}

/// Runs `f` inside the gate (with a registration of its own if this
/// thread's is destroyed, H3). `f` must run no user code.
#[expect(
    clippy::inline_always,
    reason = "every clone and drop: the call cost as much as the operation (sq microbench)"
)]
#[inline(always)]
pub(crate) fn op<R>(f: impl FnOnce(Op<'_>) -> R) -> R {
    let slot = SLOT.get();
    if slot.is_null() {
        return op_slow(f);
    }
    // SAFETY: `SLOT` holds the slot of `THREAD`'s registration only while
    // `THREAD` lives (set with `CURRENT`, cleared first thing in its
    // destructor), and the registration keeps its slot.
    let slot = unsafe { &*slot };
    let Some(inside) = HEAP.gate.try_enter_slot(slot) else {
        return op_stopped(slot, f);
    };
    // Not the collecting thread's own pause: that finds the flag raised.
    f(Op {
        inside,
        local: slot.local(),
    })
}

/// [`op`] whose fast entry found the flag raised (or symmetric fences):
/// finishes entering, out of line.
#[cold]
#[inline(never)]
fn op_stopped<R>(slot: &Slot<Local>, f: impl FnOnce(Op<'_>) -> R) -> R {
    let op = Op {
        inside: HEAP.gate.enter_stopped(slot),
        local: slot.local(),
    };
    if op.inside.in_pause() {
        count_pause_op();
    }
    f(op)
}

/// [`op`] before this thread's state is initialised, or once it is gone.
#[cold]
#[inline(never)]
fn op_slow<R>(f: impl FnOnce(Op<'_>) -> R) -> R {
    with_thread(|t| {
        let Some(t) = t else {
            return op_unregistered(f);
        };
        let reg = t.reg();
        let op = Op {
            inside: HEAP.gate.enter(reg),
            local: reg.local(),
        };
        if op.inside.in_pause() {
            count_pause_op();
        }
        f(op)
    })
}

/// Counts an operation of the collecting thread during its own pause.
#[cold]
fn count_pause_op() {
    with_thread(|t| {
        if let Some(t) = t {
            t.pause_ops.set(t.pause_ops.get() + 1);
        }
    });
}

/// [`op`] once this thread's thread-local is destroyed (H3).
#[cold]
fn op_unregistered<R>(f: impl FnOnce(Op<'_>) -> R) -> R {
    // Room for the one object this operation may list (H4).
    let reg = HEAP.gate.register(Local {
        nursery: UnsafeCell::new(Vec::with_capacity(1)),
        exited: AtomicBool::new(false),
    });
    let r = {
        let op = Op {
            inside: HEAP.gate.enter(&reg),
            local: reg.local(),
        };
        f(op)
    };
    retire(reg);
    r
}

/// Counts one tracked allocation of this thread; `true` if an automatic
/// collection is due.
pub(crate) fn count_allocation() -> bool {
    with_thread(|t| t.is_some_and(Thread::count_allocation))
}

impl Thread {
    fn count_allocation(&self) -> bool {
        let n = self.allocs.get() + 1;
        if n < FLUSH {
            self.allocs.set(n);
            return false;
        }
        self.allocs.set(0);
        let total = HEAP.allocated.fetch_add(n, Relaxed) + n;
        let due = HEAP
            .threshold
            .load(Relaxed)
            .max(HEAP.survivors.load(Relaxed) / 4);
        HEAP.enabled.load(Relaxed) && total >= due
    }

    /// Adds the unflushed allocations to the heap's counter.
    fn flush(&self) {
        let n = self.allocs.replace(0);
        if n != 0 {
            HEAP.allocated.fetch_add(n, Relaxed);
        }
    }
}

/// The shared list, locked during a pause (never contended: only pauses
/// lock it, one at a time).
pub(crate) fn shared<'s>(_: &Stopped<'s, Local>) -> MutexGuard<'s, Shared> {
    HEAP.shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// During a pause: moves every nursery into `list` (H2) and takes out the
/// slots of exited threads (H3).
pub(crate) fn merge_nurseries(stopped: &Stopped<'_, Local>, list: &mut Vec<HeaderPtr>) {
    for local in stopped.locals() {
        // SAFETY: the graph is stopped: no thread is inside the gate, so
        // nothing else touches any nursery (H1, G2).
        let n = unsafe { &mut *local.nursery.get() };
        for h in n.drain(..) {
            // SAFETY: listed blocks are allocated (the list's weak count).
            let hd = unsafe { h.as_ref() };
            hd.set_owner(core::ptr::null_mut());
            hd.set_pos(list.len());
            list.push(h);
        }
    }
    stopped.retire(|l| l.exited.load(Relaxed));
}
