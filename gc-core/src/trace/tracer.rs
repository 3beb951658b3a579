//! The [`Tracer`] that [`Trace`] impls report to: ownership regions, cell
//! guards held for the whole tracing phase, and the recorded edges.
//!
//! During an analysis (`Mode::Record`) every object of the examined set is
//! traced exactly once. For each one the tracer
//!
//! - keeps a stack of *owned regions*: the object's value bytes, plus the heap
//!   buffers that this crate's container impls vouch for (a container vouches
//!   only when it lies in an owned region itself). A reported handle counts
//!   only if its own bytes lie in one of them (soundness step S3 in the crate
//!   docs); a region left open by a caught panic makes the analysis keep
//!   everything;
//! - records each counted edge (its target's position in the working set)
//!   and subtracts it from the target's scratch count;
//! - takes, *before* the contents of a cell are traced, the cell's borrow or
//!   lock guard, and keeps it until no user code can run any more in the
//!   phase (step S2: the objects with trusted traces are traced last, and
//!   the guards go before them), unless nothing counted came from inside
//!   that cell.

use core::cell::{Ref, RefCell};
use core::marker::PhantomData;
use std::sync::{Mutex, RwLock, TryLockError};

mod guards;
mod members;
pub(crate) use members::member_flags;
mod sync;

use guards::Guard;

use super::Trace;
use crate::gc_box::{Counts, HeadPtr};
use crate::header::{Flag, Flags, LOC_NONE};

/// The scratch count of an object that must be kept for this analysis
/// (part of it could not be read, or an edge to it was reported more often
/// than it has handles).
pub(crate) const KEEP: u32 = u32::MAX - 1;

/// The scratch count of an object that marking has reached.
pub(crate) const DONE: u32 = u32::MAX;

/// What a [`Tracer`] does with the edges reported to it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    /// The collector's analysis: check ownership, record and subtract each
    /// edge into the examined set.
    Record,
    /// Record every head-ful target (heap introspection).
    Inspect,
    /// The thread-safe heap's analysis: check ownership and record each
    /// edge to a thread-safe object (`sync_edges`); thread-local handles are
    /// not reported to it.
    Sync,
}

/// The tracer's state when a cell's guard was taken.
#[derive(Clone, Copy)]
struct GuardMark {
    counted: usize,
    cells: usize,
    locks: usize,
    regions: usize,
}

/// A strong edge recorded in `Mode::Inspect`, read when it is reported: the
/// `trace` that reports it may drop the handle right after, so no `HeadPtr` is
/// kept.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Edge {
    /// The target's box address.
    pub(crate) addr: usize,
    /// `std::any::type_name` of the target's value.
    pub(crate) type_name: &'static str,
    /// The target's strong count when the edge was reported.
    pub(crate) strong: u32,
    /// Whether the target is head-ful (one the collector can track), not a
    /// head-less leaf.
    pub(crate) tracked: bool,
}

impl Edge {
    /// An edge to the head-ful object `obj`.
    fn of_headful(obj: HeadPtr) -> Edge {
        Edge {
            addr: obj.box_addr(),
            type_name: obj.type_name(),
            strong: obj.strong_count(),
            tracked: true,
        }
    }
}

/// Receives the edges a [`Trace`] impl reports.
///
/// Users never create one: the collector passes it to [`Trace::trace`], and
/// impls hand it on to their fields. `'a` is how long the traced value is
/// borrowed: a `Tracer<'a>` accepts only handles borrowed for `'a`, so no
/// trace can report a handle and move it while the collector relies on the
/// report. `Tracer` is invariant in `'a`, and offers no way to create, swap
/// or empty one.
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent flags of one recording, each read on a hot path"
)]
pub struct Tracer<'a> {
    pub(crate) mode: Mode,
    /// The location (`LOC_WORK` or `LOC_GARBAGE`) of the set being examined.
    pub(crate) set_loc: u32,
    /// The object whose value is being traced, if any.
    pub(crate) current: Option<HeadPtr>,
    /// `Record`: scratch counts, indexed like `work`.
    pub(crate) refs: Vec<u32>,
    /// The examined set; each member's head index is its position here.
    pub(crate) work: Vec<HeadPtr>,
    /// `Record`: the targets (positions in `work`) of the counted edges,
    /// grouped by source.
    pub(crate) targets: Vec<u32>,
    /// `Record`: how many of `targets` are `work[i]`'s edges, the ones after
    /// those of `work[..i]` (one byte per member: the marking step, which
    /// needs each member's start, computes them only when something is
    /// reachable; most garbage-heavy collections never do). `u8::MAX`: the
    /// count is the member's entry in `wide`.
    pub(crate) degrees: Vec<u8>,
    /// `Record`: the edge counts of the members whose `degrees` entry is
    /// `u8::MAX`, in member order.
    pub(crate) wide: Vec<u32>,
    /// Detached objects found through an edge (see `Gc::get_mut`).
    pub(crate) discovered: Vec<HeadPtr>,
    /// `Record`: the locations (bit `1 << loc`) whose objects join the set
    /// when a counted edge reaches them, so that the set grows to its
    /// closure under references (0: the set is fixed).
    pub(crate) grow: u32,
    /// Takes an object that joins the set out of its generation list.
    pub(crate) unlist: fn(HeadPtr),
    /// `Record`, a set of whole generations all of whose members are
    /// trusted: the members located below this (generations
    /// `0..lazy_end`) are not entered yet; each enters as it is first
    /// reached (see `members`). 0: every member entered before tracing.
    pub(crate) lazy_end: u32,
    /// Where each generation's list starts in `work` (a listed member's
    /// position is its list index plus this).
    pub(crate) lazy_base: [usize; 3],
    /// `work[lazy_listed..]` are members no list holds (typed objects of
    /// generation 2), entered before tracing.
    pub(crate) lazy_listed: usize,
    /// An object that joined the set has a finalizer that has not run.
    pub(crate) joined_finalizers: bool,
    /// The collector asks for escapes: counted edges that reach a tracked
    /// object outside the set in a location that does not grow it (each
    /// marks its member `Flag::Escapes`).
    pub(crate) note_escapes: bool,
    /// Set by `partition`: escapes are noted, or the set grows (handles to
    /// objects outside the set are looked at).
    pub(crate) noting: bool,
    /// `Record`: some member has `Flag::Escapes`, or some scratch count is
    /// `KEEP` (which hides what the member reaches, like an escape).
    pub(crate) escaped: bool,
    /// `Collect`: every strong edge reported, head-ful or head-less target,
    /// in the order reported.
    pub(crate) edges: Vec<Edge>,
    /// `Collect`: the traced value reported an unreadable part. `Record`:
    /// the trace broke a rule the analysis relies on (a handle reported
    /// twice, a region left open), so nothing may be dropped.
    pub(crate) unreadable: bool,
    /// `Record`: in-set handles reported from outside every owned region,
    /// for the whole set and for the current object.
    pub(crate) rejected: usize,
    /// `Record`: `(type name, count)` of the objects whose traces reported
    /// rejected handles.
    pub(crate) rejected_by: Vec<(&'static str, usize)>,
    /// `Record`: counted reports so far (a cell whose trace added none may
    /// release its guard at once).
    counted: usize,
    /// `Record`: the addresses of the handles the current object reported,
    /// to find one reported twice.
    seen: Vec<usize>,
    /// `Record`: the address of the first handle the current object
    /// reported (0: none yet); the rest go to `seen`.
    first_seen: usize,
    /// The current object's value bytes `[start, end)`: its first owned
    /// region.
    base: (usize, usize),
    /// The owned regions vouched for inside it (a stack).
    regions: Vec<(usize, usize)>,
    /// Borrow guards of `RefCell`s, held until the tracing phase ends.
    cells: Vec<Ref<'a, ()>>,
    /// Lock guards, held until the tracing phase ends.
    locks: Vec<Guard<'a>>,
    /// User code may still run in this tracing phase: the cell impls hold
    /// the guards under which they reported counted handles.
    hold: bool,
    /// `Sync`: the blocks of the thread-safe objects reported.
    pub(crate) sync_edges: Vec<*const ()>,
    /// `Sync`: the current object reported an unreadable part.
    pub(crate) keep_current: bool,
    /// Invariant in `'a`.
    _borrow: PhantomData<fn(&'a ()) -> &'a ()>,
}

impl core::fmt::Debug for Tracer<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Tracer")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// The address range of `v`'s bytes.
#[inline]
fn range_of<T: ?Sized>(v: &T) -> (usize, usize) {
    let start = core::ptr::from_ref(v).cast::<u8>().addr();
    (start, start + core::mem::size_of_val(v))
}

impl<'a> Tracer<'a> {
    pub(crate) fn new(mode: Mode, set_loc: u32) -> Self {
        Tracer {
            mode,
            set_loc,
            current: None,
            refs: Vec::new(),
            work: Vec::new(),
            targets: Vec::new(),
            degrees: Vec::new(),
            wide: Vec::new(),
            discovered: Vec::new(),
            grow: 0,
            unlist: |_| {},
            lazy_end: 0,
            lazy_base: [0; 3],
            lazy_listed: 0,
            joined_finalizers: false,
            note_escapes: false,
            noting: false,
            escaped: false,
            edges: Vec::new(),
            unreadable: false,
            rejected: 0,
            rejected_by: Vec::new(),
            counted: 0,
            seen: Vec::new(),
            first_seen: 0,
            base: (0, 0),
            regions: Vec::new(),
            cells: Vec::new(),
            locks: Vec::new(),
            hold: false,
            sync_edges: Vec::new(),
            keep_current: false,
            _borrow: PhantomData,
        }
    }

    /// Tells the collector that part of the value being traced cannot be
    /// read right now, for example a `RefCell` that is mutably borrowed.
    ///
    /// The object being traced is then treated as reachable for this
    /// collection (the `Gc`s in the unread part are not reported, so their
    /// targets stay alive too); a later collection examines it again. The
    /// `Trace` impls of `RefCell`, `Mutex` and `RwLock` call it, and so do
    /// [`Tracer::borrow`], [`Tracer::lock`] and [`Tracer::read`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::{Gc, Trace, Tracer};
    /// use std::cell::Cell;
    ///
    /// struct Sometimes(Gc<i32>, Cell<bool>);
    ///
    /// impl Trace for Sometimes {
    ///     fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
    ///         if self.1.get() {
    ///             self.0.trace(tracer);
    ///         } else {
    ///             tracer.mark_unreadable(); // keeps `self` alive this time
    ///         }
    ///     }
    /// }
    ///
    /// let s = Gc::new(Sometimes(Gc::new(1), Cell::new(false)));
    /// assert_eq!(gc_core::collect(), 0);
    /// # drop(s);
    /// ```
    pub fn mark_unreadable(&mut self) {
        match self.mode {
            Mode::Record => {
                if let Some(obj) = self.current {
                    let r = &mut self.refs[obj.index()];
                    if *r != DONE {
                        *r = KEEP;
                        self.escaped = true;
                    }
                }
            }
            Mode::Inspect => self.unreadable = true,
            Mode::Sync => self.keep_current = true,
        }
    }

    /// Borrows `cell` for the rest of the tracing phase and returns its
    /// contents, or `None` (after [`Tracer::mark_unreadable`]) if it is
    /// mutably borrowed.
    ///
    /// This is how a hand-written `trace` walks a cell itself, for example a
    /// foreign type inside a `RefCell`: the borrow is kept until the
    /// collector has traced every object it examines, so nothing reported
    /// from inside the cell can move meanwhile. To trace the whole contents,
    /// call `trace` on the cell instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::{Gc, Trace, Tracer};
    /// use std::cell::RefCell;
    ///
    /// struct Node {
    ///     // only the first child is traced, by hand
    ///     kids: RefCell<Vec<Gc<Node>>>,
    /// }
    ///
    /// impl Trace for Node {
    ///     fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
    ///         if let Some(kids) = tracer.borrow(&self.kids) {
    ///             kids.trace(tracer); // the whole Vec, so it vouches for its buffer
    ///         }
    ///     }
    /// }
    ///
    /// let a = Gc::new(Node { kids: RefCell::new(vec![]) });
    /// a.kids.borrow_mut().push(a.clone());
    /// drop(a);
    /// assert_eq!(gc_core::collect(), 1);
    /// ```
    pub fn borrow<T: ?Sized>(&mut self, cell: &'a RefCell<T>) -> Option<&'a T> {
        let Ok(guard) = cell.try_borrow() else {
            self.mark_unreadable();
            return None;
        };
        let value: &T = &guard;
        let value = core::ptr::from_ref(value);
        // Pushed before anything is reported through it (step S2).
        self.cells.push(Ref::map(guard, |_| &()));
        // SAFETY: the shared borrow now held in `self.cells` lasts as long as
        // `self` lives or until the tracing phase ends, which is no shorter
        // than any use of the reference: user code only gets it for the
        // current `trace` call, and the collector ends the phase only after
        // that call returns (step S2).
        Some(unsafe { &*value })
    }

    /// Locks `mutex` for the rest of the tracing phase and returns its
    /// contents (a poisoned lock is read), or `None` (after
    /// [`Tracer::mark_unreadable`]) if it is locked elsewhere. Like
    /// [`Tracer::borrow`], for hand-written walks.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::{Gc, Trace, Tracer};
    /// use std::sync::Mutex;
    ///
    /// struct Slot(Mutex<Option<Gc<Slot>>>);
    ///
    /// impl Trace for Slot {
    ///     fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
    ///         if let Some(inner) = tracer.lock(&self.0) {
    ///             inner.trace(tracer);
    ///         }
    ///     }
    /// }
    ///
    /// let a = Gc::new(Slot(Mutex::new(None)));
    /// *a.0.lock().unwrap() = Some(a.clone());
    /// drop(a);
    /// assert_eq!(gc_core::collect(), 1);
    /// ```
    pub fn lock<T: ?Sized>(&mut self, mutex: &'a Mutex<T>) -> Option<&'a T> {
        self.hold_lock(mutex.try_lock())
    }

    /// Keeps the guard a `try_lock`/`try_read` gave (a poisoned lock is
    /// read) until the tracing phase ends, and returns the contents; `None`
    /// (after [`Tracer::mark_unreadable`]) when the lock is taken elsewhere.
    fn hold_lock<G>(&mut self, locked: Result<G, TryLockError<G>>) -> Option<&'a G::Target>
    where
        G: core::ops::Deref + 'a,
    {
        let guard = match locked {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => {
                self.mark_unreadable();
                return None;
            }
        };
        let value = core::ptr::from_ref::<G::Target>(&guard);
        self.locks.push(Guard::new(guard));
        // SAFETY: as in `borrow`: the lock is held in `self.locks` until the
        // tracing phase ends (step S2), no shorter than any use of the
        // reference.
        Some(unsafe { &*value })
    }

    /// Read-locks `lock` for the rest of the tracing phase and returns its
    /// contents (a poisoned lock is read), or `None` (after
    /// [`Tracer::mark_unreadable`]) if it is write-locked. Like
    /// [`Tracer::borrow`], for hand-written walks.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::{Gc, Trace, Tracer};
    /// use std::sync::RwLock;
    ///
    /// struct Slot(RwLock<Option<Gc<Slot>>>);
    ///
    /// impl Trace for Slot {
    ///     fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
    ///         if let Some(inner) = tracer.read(&self.0) {
    ///             inner.trace(tracer);
    ///         }
    ///     }
    /// }
    ///
    /// let a = Gc::new(Slot(RwLock::new(None)));
    /// *a.0.write().unwrap() = Some(a.clone());
    /// drop(a);
    /// assert_eq!(gc_core::collect(), 1);
    /// ```
    pub fn read<T: ?Sized>(&mut self, lock: &'a RwLock<T>) -> Option<&'a T> {
        self.hold_lock(lock.try_read())
    }

    /// Traces `part` as memory that the value being traced owns: the `Gc`s
    /// inside it count as edges even though `part` lies outside the value's
    /// own bytes (an element of a foreign container's heap buffer).
    ///
    /// The crate's own container impls vouch for their buffers; this is the
    /// one way for code outside the crate to do the same. Without it, the
    /// handles of a foreign container's buffer are ignored (their targets
    /// leak, and [`GenerationStats::rejected`](crate::GenerationStats)
    /// counts them).
    ///
    /// # Safety
    ///
    /// - `part` is owned by the value being traced: reachable only through
    ///   it, as the elements of a container it owns alone are (not shared
    ///   with another owner, as an `Rc`'s contents are);
    /// - `part` is not moved, dropped or mutated until the collector has
    ///   traced every object it examines, not merely until this `trace`
    ///   returns (a container behind `&'a` or behind a guard from
    ///   [`Tracer::borrow`] satisfies this).
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::{Gc, Trace, Tracer};
    /// use std::cell::RefCell;
    ///
    /// /// A container whose buffer this crate knows nothing about.
    /// struct Foreign<T>(Box<[T]>);
    ///
    /// struct Node(RefCell<Foreign<Gc<Node>>>);
    ///
    /// impl Trace for Node {
    ///     fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
    ///         if let Some(items) = tracer.borrow(&self.0) {
    ///             for item in items.0.iter() {
    ///                 // SAFETY: the elements belong to this node alone, and the
    ///                 // borrow above keeps them in place for the whole phase.
    ///                 unsafe { tracer.trace_owned(item) };
    ///             }
    ///         }
    ///     }
    /// }
    ///
    /// let a = Gc::new(Node(RefCell::new(Foreign(Box::new([])))));
    /// *a.0.borrow_mut() = Foreign(Box::new([a.clone()]));
    /// drop(a);
    /// assert_eq!(gc_core::collect(), 1);
    /// ```
    pub unsafe fn trace_owned<T: Trace + ?Sized>(&mut self, part: &'a T) {
        self.trace_vouched(true, part);
    }

    /// Whether `v` lies inside one of the current owned regions.
    #[inline]
    pub(crate) fn owns<T: ?Sized>(&self, v: &T) -> bool {
        let (start, end) = range_of(v);
        self.owns_range(start, end)
    }

    #[inline]
    fn owns_range(&self, start: usize, end: usize) -> bool {
        let (lo, hi) = self.base;
        (lo <= start && end <= hi)
            || self
                .regions
                .iter()
                .rev()
                .any(|&(lo, hi)| lo <= start && end <= hi)
    }

    /// Traces `part`, vouching for its bytes as owned when `owned` (the
    /// caller's container lies in an owned region and owns `part` alone).
    #[inline]
    pub(crate) fn trace_vouched<T: Trace + ?Sized>(&mut self, owned: bool, part: &'a T) {
        if owned {
            let depth = self.regions.len();
            self.regions.push(range_of(part));
            part.trace(self);
            self.close_region(depth);
        } else {
            part.trace(self);
        }
    }

    /// Traces the elements of `items`, a buffer that `container` owns
    /// alone: vouched for when `container` lies in an owned region.
    #[inline]
    pub(crate) fn trace_buffer<C: ?Sized, T: Trace>(&mut self, container: &C, items: &'a [T]) {
        // `[T]`'s trace traces each element; its bytes are the buffer.
        let owned = self.owns(container);
        self.trace_vouched(owned, items);
    }

    /// Traces the contents of a cell whose guard is `guard`, keeping the
    /// guard until the tracing phase ends if anything counted came from
    /// inside (step S2); otherwise it is released at once.
    #[expect(
        clippy::inline_always,
        reason = "the edge path of every collection: a call here costs a prologue per cell (callgrind, big_cycle)"
    )]
    #[inline(always)]
    pub(crate) fn trace_borrowed<T: Trace + ?Sized>(&mut self, guard: Ref<'a, T>) {
        let value = core::ptr::from_ref::<T>(&guard);
        // One call of `trace` below, for both cases (so that it inlines).
        let (mark, local) = if self.hold {
            let mark = self.guard_mark();
            // Pushed before anything is reported through it.
            self.cells.push(Ref::map(guard, |_| &()));
            (Some(mark), None)
        } else {
            // No user code can run any more in this phase (S2): the guard
            // only needs to outlive this trace.
            (None, Some(guard))
        };
        // SAFETY: the shared borrow is held until after this trace call
        // returns: pushed into `cells` (released by `release_unused` below
        // at the earliest, step S2), or kept in `local` until the end of
        // this function. In the second case no user code runs any more in
        // this phase (S2), so nothing can use the reference, or move what it
        // reports, once the guard is gone.
        let value: &'a T = unsafe { &*value };
        value.trace(self);
        if let Some(mark) = mark {
            self.release_unused(mark);
        }
        drop(local);
    }

    /// Pops the region pushed at `depth`. Any region pushed above it and
    /// not popped (a panic caught inside a trace skipped its pop) would
    /// vouch for memory that may change hands once a guard is released, so
    /// the analysis then keeps everything (step S3).
    #[inline]
    fn close_region(&mut self, depth: usize) {
        if self.regions.len() != depth + 1 {
            self.unreadable = true;
        }
        self.regions.truncate(depth);
    }

    /// What [`Tracer::release_unused`] compares with.
    #[inline]
    fn guard_mark(&self) -> GuardMark {
        GuardMark {
            counted: self.counted,
            cells: self.cells.len(),
            locks: self.locks.len(),
            regions: self.regions.len(),
        }
    }

    /// Releases the guards taken since `mark` if nothing counted was
    /// reported since: no counted handle lies behind them (step S2). A
    /// region left open since `mark` (a caught panic) could still vouch for
    /// memory behind them: then the guards stay and the analysis keeps
    /// everything.
    #[expect(
        clippy::inline_always,
        reason = "once per traced cell; callgrind showed the call"
    )]
    #[inline(always)]
    fn release_unused(&mut self, mark: GuardMark) {
        if self.regions.len() != mark.regions {
            self.unreadable = true;
            return;
        }
        if !self.hold || self.counted == mark.counted {
            self.cells.truncate(mark.cells);
            self.locks.truncate(mark.locks);
        }
    }

    /// [`Tracer::trace_borrowed`] for a lock guard.
    #[inline]
    pub(crate) fn trace_locked<G: core::ops::Deref + 'a>(&mut self, guard: G)
    where
        G::Target: Trace,
    {
        let value = core::ptr::from_ref::<G::Target>(&guard);
        let mark = self.guard_mark();
        self.locks.push(Guard::new(guard));
        // SAFETY: as in `trace_borrowed`: the guard is held at least until
        // this trace returns (step S2).
        let value: &'a G::Target = unsafe { &*value };
        value.trace(self);
        self.release_unused(mark);
    }

    /// Starts tracing an object whose value is `value`: its bytes are the
    /// one owned region.
    #[inline]
    pub(crate) fn begin_object<T: ?Sized>(&mut self, value: &T) {
        self.base = range_of(value);
        self.regions.clear();
    }

    /// Ends the current object's trace: `false` if it broke a rule (a region
    /// left open by a caught panic, one handle reported twice).
    #[inline]
    pub(crate) fn end_object(&mut self) -> bool {
        let closed = self.regions.is_empty();
        self.regions.clear();
        self.base = (0, 0);
        let first = core::mem::replace(&mut self.first_seen, 0);
        let seen = &mut self.seen;
        let twice = match seen.len() {
            0 => false,
            1 => seen[0] == first,
            _ => {
                seen.push(first);
                seen.sort_unstable();
                seen.windows(2).any(|w| w[0] == w[1])
            }
        };
        seen.clear();
        closed && !twice
    }

    /// Whether guards must be held (user code may still run in this phase);
    /// turning it off releases the guards held so far (step S2).
    pub(crate) fn hold_guards(&mut self, hold: bool) {
        if !hold {
            self.cells.clear();
            self.locks.clear();
        }
        self.hold = hold;
    }

    /// Releases every guard: the tracing phase is over (step S2).
    pub(crate) fn end_phase(&mut self) {
        self.cells.clear();
        self.locks.clear();
        self.regions.clear();
        self.base = (0, 0);
        self.seen.clear();
        self.first_seen = 0;
        self.current = None;
        self.hold = false;
    }

    /// Reports a strong edge to the head-ful object `obj`, through the
    /// handle `handle`.
    ///
    /// # Safety
    ///
    /// - `handle` is a `Gc` (its bytes are the ones a move would change) and
    ///   `obj` the head of the object it points to (I3, I9): the analysis
    ///   counts the edge as a handle to `obj` (S3, S5).
    #[expect(
        clippy::inline_always,
        reason = "the edge path of every collection: a call here costs a prologue per handle (callgrind, big_cycle)"
    )]
    #[inline(always)]
    pub(crate) unsafe fn visit<H>(&mut self, obj: HeadPtr, handle: &H) {
        let f = obj.flags();
        if f.loc() != self.set_loc && !self.enters(obj, f, handle) {
            self.visit_outside(obj, f);
            return;
        }
        match self.mode {
            Mode::Record => {
                let (start, end) = range_of(handle);
                if !self.owns_range(start, end) {
                    self.reject();
                    return;
                }
                let t = obj.index();
                let r = &mut self.refs[t];
                if *r == 0 {
                    // Reported more often than it is referenced: keep it.
                    *r = KEEP;
                    self.escaped = true;
                } else if *r < KEEP {
                    *r -= 1;
                }
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "lists are capped below u32::MAX"
                )]
                self.targets.push(t as u32);
                if self.first_seen == 0 {
                    self.first_seen = start;
                } else {
                    self.seen.push(start);
                }
                self.counted += 1;
            }
            Mode::Inspect => self.edges.push(Edge::of_headful(obj)),
            Mode::Sync => {}
        }
    }

    #[cold]
    fn reject(&mut self) {
        self.rejected += 1;
        if let Some(obj) = self.current {
            let name = obj.type_name();
            match self.rejected_by.last_mut() {
                Some((n, c)) if core::ptr::eq(*n, name) => *c += 1,
                _ => self.rejected_by.push((name, 1)),
            }
        }
    }

    /// Reports a strong edge to a head-less object whose counts are at
    /// `counts`: only heap introspection records those.
    #[inline]
    pub(crate) fn visit_leaf(&mut self, counts: &Counts, type_name: fn() -> &'static str) {
        if self.mode == Mode::Inspect {
            self.edges.push(Edge {
                addr: core::ptr::from_ref(counts).addr(),
                type_name: type_name(),
                strong: counts.strong_count(),
                tracked: false,
            });
        }
    }

    #[cold]
    fn visit_outside(&mut self, obj: HeadPtr, f: Flags) {
        match self.mode {
            Mode::Inspect => {
                self.edges.push(Edge::of_headful(obj));
                return;
            }
            Mode::Sync => return,
            Mode::Record => {}
        }
        // A strong edge to a detached object proves that the handle `get_mut`
        // borrowed has since been moved into a traced value, so the `&mut`
        // it gave out has ended (invariant I5).
        let c = obj.counts();
        if f.loc() == LOC_NONE
            && c.is_detached()
            && c.strong_count() != 0
            && !f.has(Flag::Discovered)
        {
            obj.set_flags(f.with(Flag::Discovered));
            // Held until `retrack`: user code (`Drop`, finalizers) runs before
            // then and may drop the handle that reached it.
            // The collector's count (I7): the spare above `MAX_HANDLES`.
            c.inc_strong_collector();
            self.discovered.push(obj);
        }
    }
}
