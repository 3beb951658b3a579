//! The gate between `sync` operations and the collector: *stop the graph,
//! not the world*.
//!
//! Every operation on a thread-safe handle that changes a count or an edge
//! (clone, drop, new, upgrade, the uniqueness checks) runs inside the gate:
//! [`Gate::enter`] marks the thread's [`Slot`] *inside*, and the returned
//! [`Inside`] marks it *outside* again when dropped. No user code runs
//! inside (no `Drop`, `trace`, finalizer or allocation): an operation is a
//! few counter updates.
//!
//! A collection calls [`Gate::stop`]: it raises the stop flag, then waits
//! only for the threads that are inside an operation at that moment, each
//! for the few instructions it has left. A thread that is blocked in I/O,
//! sleeping or computing is outside, so it never delays a collection; a
//! thread that reaches the gate while the graph is stopped waits there
//! until the [`Stopped`] guard is dropped. While that guard lives, no count
//! changes and no operation is half done: the collector sees a consistent
//! graph, as the single-threaded analysis does between two instructions of
//! its thread.
//!
//! # The protocol
//!
//! - **G1 (Dekker).** An operation stores *inside* to its slot, then reads
//!   the stop flag; a collector stores the flag, then reads every slot. A
//!   full fence sits between the store and the load on both sides, so at
//!   least one side sees the other's store: the operation sees the flag
//!   (and backs off, outside, to wait), or the collector sees *inside* (and
//!   waits for the matching *outside*). Both cannot miss. The fence is
//!   *asymmetric* where the system offers it ([`barrier`]): on Linux the
//!   collector issues `membarrier(PRIVATE_EXPEDITED)`, which makes every
//!   running thread of the process pass a full fence, so an operation needs
//!   only a compiler fence (its store and load stay in program order, and
//!   the system call orders them against the collector's). Elsewhere, and
//!   under loom and Miri, both sides use sequentially consistent fences.
//! - **G2 (happens-before).** Leaving stores *outside* with `Release`; the
//!   collector's wait reads it with `Acquire`, so everything the operation
//!   did happens before the pause. The end of a pause stores the flag with
//!   `Release` and wakes the waiters under the pause mutex; an operation
//!   resumes only after reading the lowered flag with `Acquire`, so the
//!   pause happens before it.
//! - **G3 (one collector).** Collectors take the collector mutex first, so
//!   pauses never overlap. The collecting thread's slot is marked
//!   *collecting* during its pause: an operation it runs itself then (a
//!   `trace` that clones a handle) finds the flag raised, sees the mark and
//!   passes, staying *outside* (no collector waits for that slot: its own
//!   thread runs the one pause).
//! - **G4 (registration).** A thread registers its slot before its first
//!   operation and takes it out when it exits. A collector reads the slots
//!   after raising the flag: a thread registered later sees the flag (the
//!   registry mutex orders the two), one taken out is outside, and the
//!   collector's snapshot keeps every slot it reads allocated.
//!
//! The loom models below check G1 to G4 with every interleaving of a few
//! threads (`RUSTFLAGS="--cfg loom" cargo test -p gc-core --release --lib
//! sync::gate`); the std tests check the same properties under real
//! threads, and that a blocked thread does not delay a pause.

mod barrier;

#[cfg(all(loom, not(gc_tsan)))]
use loom::sync::atomic::fence;
#[cfg(loom)]
use loom::{
    sync::atomic::{AtomicBool, AtomicU8},
    sync::{Arc, Condvar, Mutex, MutexGuard},
    thread::yield_now,
};
#[cfg(all(not(loom), not(gc_tsan)))]
use std::sync::atomic::fence;
#[cfg(not(loom))]
use std::{
    sync::atomic::{AtomicBool, AtomicU8},
    sync::{Arc, Condvar, Mutex, MutexGuard},
    thread::yield_now,
};

use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::PoisonError;

/// The slot's thread is not inside an operation.
const OUTSIDE: u8 = 0;
/// The slot's thread is inside an operation.
const INSIDE: u8 = 1;

/// [`Gate::mode`]: a pause is wanted or under way (G1).
const STOP: u8 = 1;
/// [`Gate::mode`]: the fence is asymmetric (`barrier::init`), set before
/// the first thread registers and never cleared.
const ASYMMETRIC: u8 = 2;

/// Locks `m`, reading through poison: the gate's mutexes guard no data a
/// panic could leave half-updated (the registry's `Vec` is changed by one
/// call at a time).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One thread's state at the gate, and `local`: data of that thread that
/// only it reads or writes inside the gate, and only a pause reads or writes
/// otherwise (G2 orders the two).
///
/// Each slot has cache lines of its own (128 bytes: two lines, for the
/// adjacent-line prefetcher), so that threads operating at once never write
/// to one line.
#[derive(Debug)]
#[repr(align(128))]
pub(crate) struct Slot<L> {
    state: AtomicU8,
    /// The slot's thread is running a pause (G3); only it reads or writes
    /// this.
    collecting: AtomicBool,
    local: L,
}

/// The gate of one shared heap; `L` is each thread's data (see [`Slot`]).
///
/// The word every operation reads comes first, on cache lines nothing
/// else writes to (the struct is aligned, and the mutexes start a line
/// further on).
#[derive(Debug)]
#[repr(C, align(128))]
pub(crate) struct Gate<L = ()> {
    /// `STOP` and `ASYMMETRIC`, in one word so that the fast path reads
    /// both with one load.
    mode: AtomicU8,
    _own_lines: [u8; 127],
    /// The slots of the registered threads (G4).
    slots: Mutex<Vec<Arc<Slot<L>>>>,
    /// Held by the one collector whose pause is wanted or under way (G3).
    collector: Mutex<()>,
    /// With `resumed`: where operations wait for a pause to end (G2).
    pause: Mutex<()>,
    resumed: Condvar,
}

/// A registered thread's slot; taken out of the gate when dropped (G4).
#[derive(Debug)]
pub(crate) struct Registration<'g, L = ()> {
    gate: &'g Gate<L>,
    slot: Arc<Slot<L>>,
    /// Taken out of the gate when dropped; `false` after
    /// [`Registration::retire`], when a pause takes it out.
    deregister: bool,
}

/// An operation under way; leaves the gate when dropped.
#[derive(Debug)]
#[must_use = "the operation is inside the gate only while this lives"]
pub(crate) struct Inside<'s> {
    /// `None` for an operation of the collecting thread during its pause.
    slot: Option<&'s AtomicU8>,
}

/// The graph is stopped while this lives: no thread is inside an
/// operation, and every thread that reaches the gate waits.
#[derive(Debug)]
#[must_use = "the graph is stopped only while this lives"]
pub(crate) struct Stopped<'g, L = ()> {
    gate: &'g Gate<L>,
    slot: &'g Slot<L>,
    /// The slots registered when the graph stopped (G4).
    slots: Vec<Arc<Slot<L>>>,
    _collector: MutexGuard<'g, ()>,
}

/// An acquire fence after a relaxed load of `flag`. `ThreadSanitizer` does
/// not model fences, so a `--cfg gc_tsan` build (CI's TSAN run) loads
/// `flag` again with `Acquire` instead, which orders the same accesses for
/// this use (the value the fence pairs with is the one just read).
#[inline]
fn acquire(flag: &AtomicU8) {
    #[cfg(not(gc_tsan))]
    {
        let _ = flag;
        fence(Acquire);
    }
    #[cfg(gc_tsan)]
    flag.load(Acquire);
}

impl<L> Gate<L> {
    /// A gate with no thread registered and no pause.
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Gate<L> {
        Gate {
            mode: AtomicU8::new(0),
            _own_lines: [0; 127],
            slots: Mutex::new(Vec::new()),
            collector: Mutex::new(()),
            pause: Mutex::new(()),
            resumed: Condvar::new(),
        }
    }

    /// A gate with no thread registered and no pause (loom's types have no
    /// `const` constructors).
    #[cfg(loom)]
    pub(crate) fn new() -> Gate<L> {
        Gate {
            mode: AtomicU8::new(0),
            _own_lines: [0; 127],
            slots: Mutex::new(Vec::new()),
            collector: Mutex::new(()),
            pause: Mutex::new(()),
            resumed: Condvar::new(),
        }
    }

    /// Registers the calling thread (G4): its operations go through the
    /// returned slot, until the registration is dropped.
    pub(crate) fn register(&self, local: L) -> Registration<'_, L> {
        // G1: every registered thread sees the same choice of fence (the
        // registry mutex below orders this store before their loads).
        if barrier::init() {
            self.mode.fetch_or(ASYMMETRIC, Relaxed);
        }
        let slot = Arc::new(Slot {
            state: AtomicU8::new(OUTSIDE),
            collecting: AtomicBool::new(false),
            local,
        });
        lock(&self.slots).push(slot.clone());
        Registration {
            gate: self,
            slot,
            deregister: true,
        }
    }

    /// Enters the gate for one operation of `reg`'s thread: returns at once
    /// unless the graph is stopped, in which case it waits for the pause to
    /// end (G1, G2). The collecting thread passes during its own pause (G3).
    ///
    /// # Panics
    ///
    /// Panics (in debug builds) if the thread is already inside: operations
    /// do not nest, since none runs user code.
    #[inline]
    pub(crate) fn enter<'s>(&self, reg: &'s Registration<'_, L>) -> Inside<'s> {
        self.enter_slot(&reg.slot)
    }

    /// [`Gate::enter`] through the slot of a registration of this gate that
    /// outlives the result.
    #[inline]
    pub(crate) fn enter_slot<'s>(&self, slot: &'s Slot<L>) -> Inside<'s> {
        match self.try_enter_slot(slot) {
            Some(inside) => inside,
            None => self.enter_stopped(slot),
        }
    }

    /// The fast path of [`Gate::enter_slot`]: `Some` if the operation may
    /// proceed at once (the asymmetric fence, the flag lowered); `None`
    /// leaves the slot marked inside, and the caller must finish entering
    /// with [`Gate::enter_stopped`].
    #[inline]
    pub(crate) fn try_enter_slot<'s>(&self, slot: &'s Slot<L>) -> Option<Inside<'s>> {
        debug_assert_eq!(
            slot.state.load(Relaxed),
            OUTSIDE,
            "gate: operations do not nest"
        );
        slot.state.store(INSIDE, Relaxed);
        // G1 with the asymmetric fence: the store above and the load below
        // stay in program order, which is all this side needs; one load
        // reads both the fence's kind and the stop flag.
        barrier::light(true);
        if self.mode.load(Relaxed) == ASYMMETRIC {
            // G2: the pause that lowered the flag, if any, happens before
            // this operation.
            acquire(&self.mode);
            return Some(Inside {
                slot: Some(&slot.state),
            });
        }
        None
    }

    /// The rest of G1 for [`Gate::enter_slot`] (and its retries), whose slot
    /// is inside and whose one load did not find the asymmetric fence with
    /// the flag lowered: `true` if the flag is lowered (the operation may
    /// proceed), `false` if it is raised.
    #[inline]
    fn lowered(&self) -> bool {
        let mode = self.mode.load(Relaxed);
        if mode & ASYMMETRIC != 0 {
            // The load came after the slot's store in program order (the
            // compiler fence), which the asymmetric fence needs.
            return mode & STOP == 0;
        }
        // G1 with symmetric fences: a full fence between the slot's store
        // and the flag's load.
        barrier::light(false);
        self.mode.load(Relaxed) & STOP == 0
    }

    /// [`Gate::enter_slot`] that did not find the asymmetric fence with the
    /// flag lowered: proceeds if the flag is lowered after all (symmetric
    /// fences); otherwise the collecting thread's own operation passes
    /// (G3), and any other waits for the pause to end and tries again.
    ///
    /// The slot must be the one [`Gate::try_enter_slot`] just marked inside.
    #[cold]
    #[inline(never)]
    pub(crate) fn enter_stopped<'s>(&self, slot: &'s Slot<L>) -> Inside<'s> {
        loop {
            if self.lowered() {
                // G2, as in `enter_slot`.
                acquire(&self.mode);
                return Inside {
                    slot: Some(&slot.state),
                };
            }
            slot.state.store(OUTSIDE, Release);
            if slot.collecting.load(Relaxed) {
                // G3: no collector waits for this slot (its own thread runs
                // the one pause), so it stays outside.
                return Inside { slot: None };
            }
            self.wait_resumed();
            slot.state.store(INSIDE, Relaxed);
            // G1, as in `enter_slot`.
            barrier::light(true);
        }
    }

    /// Waits until the stop flag is lowered.
    fn wait_resumed(&self) {
        let mut held = lock(&self.pause);
        while self.mode.load(Acquire) & STOP != 0 {
            held = self
                .resumed
                .wait(held)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Stops the graph for a collection run by `reg`'s thread: waits for
    /// any other collection to end (G3), raises the stop flag, then waits
    /// for each thread inside an operation to leave it (G1). Threads outside
    /// are not waited for.
    ///
    /// # Panics
    ///
    /// Panics (in debug builds) if the calling thread is inside an
    /// operation: it would wait for itself.
    pub(crate) fn stop<'g>(&'g self, reg: &'g Registration<'_, L>) -> Stopped<'g, L> {
        let slot = &*reg.slot;
        debug_assert_eq!(
            slot.state.load(Relaxed),
            OUTSIDE,
            "gate: stop inside an operation"
        );
        let collector = lock(&self.collector);
        slot.collecting.store(true, Relaxed);
        self.mode.fetch_or(STOP, Relaxed);
        // G1: the flag's store and the slots' loads are not reordered, on
        // this thread and against every operation's light fence.
        barrier::heavy();
        // G4: slots registered from here on see the flag.
        let slots = lock(&self.slots).clone();
        for other in &slots {
            if Arc::ptr_eq(other, &reg.slot) {
                continue;
            }
            // G2: `Acquire`, so the operation it leaves happens before.
            while other.state.load(Acquire) == INSIDE {
                yield_now();
            }
        }
        Stopped {
            gate: self,
            slot,
            slots,
            _collector: collector,
        }
    }
}

impl<L> Registration<'_, L> {
    /// The slot, for [`Gate::enter_slot`] (it lives as long as the
    /// registration).
    pub(crate) fn slot(&self) -> &Slot<L> {
        &self.slot
    }

    /// This thread's data. Its owner reads or writes it only inside the
    /// gate (with an [`Inside`] of this registration).
    pub(crate) fn local(&self) -> &L {
        &self.slot.local
    }

    /// Leaves the slot registered when the thread goes: a later pause
    /// takes it out ([`Stopped::retire`]) after reading its data one last
    /// time. The slot must be outside (G4).
    pub(crate) fn retire(mut self) {
        self.deregister = false;
    }
}

impl<L> Slot<L> {
    /// The thread's data (see [`Registration::local`]).
    #[inline]
    pub(crate) fn local(&self) -> &L {
        &self.local
    }
}

impl<L> Stopped<'_, L> {
    /// The data of every thread registered when the graph stopped, the
    /// collecting thread's among them.
    pub(crate) fn locals(&self) -> impl Iterator<Item = &L> {
        self.slots.iter().map(|s| &s.local)
    }

    /// Takes out of the gate the slots whose data `retired` picks (their
    /// threads called [`Registration::retire`]); they stay readable through
    /// this guard until it drops.
    pub(crate) fn retire(&self, mut retired: impl FnMut(&L) -> bool) {
        lock(&self.gate.slots).retain(|s| !retired(&s.local));
    }
}

impl Inside<'_> {
    /// Whether this is an operation of the collecting thread during its own
    /// pause (G3).
    #[inline]
    pub(crate) fn in_pause(&self) -> bool {
        self.slot.is_none()
    }
}

impl Drop for Inside<'_> {
    #[inline]
    fn drop(&mut self) {
        if let Some(state) = self.slot {
            // G2: what the operation did happens before a pause that reads
            // this.
            state.store(OUTSIDE, Release);
        }
    }
}

impl<L> Drop for Stopped<'_, L> {
    fn drop(&mut self) {
        self.slot.collecting.store(false, Relaxed);
        // G2: the pause happens before the operations that read the flag
        // lowered; the mutex orders the notification after any waiter's
        // check of the flag, so no wake-up is lost.
        self.gate.mode.fetch_and(!STOP, Release);
        let _held = lock(&self.gate.pause);
        self.gate.resumed.notify_all();
        // The collector mutex (G3) goes after this, as the last field.
    }
}

impl<L> Drop for Registration<'_, L> {
    fn drop(&mut self) {
        debug_assert_eq!(
            self.slot.state.load(Relaxed),
            OUTSIDE,
            "gate: a thread leaves inside an operation"
        );
        if !self.deregister {
            return;
        }
        lock(&self.gate.slots).retain(|s| !Arc::ptr_eq(s, &self.slot));
    }
}

#[cfg(all(test, loom))]
mod loom_tests;
#[cfg(all(test, not(loom)))]
mod tests;
