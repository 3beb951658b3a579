//! Python-style memory management for Rust.
//!
//! [`Gc<T>`] is a reference-counted pointer: like [`Rc`](std::rc::Rc), it
//! frees a value the moment its last handle is dropped. Unlike `Rc`, values
//! that reference each other in a cycle are not leaked: a generational cycle
//! detector, modelled on CPython's, finds reference cycles and frees them
//! too. Types take part by deriving [`Trace`]; no unsafe code is needed.
//!
//! ```
//! use gc_core::{Gc, Trace};
//! use std::cell::RefCell;
//!
//! #[derive(Trace)]
//! struct Node {
//!     name: String,
//!     edges: RefCell<Vec<Gc<Node>>>,
//! }
//!
//! let a = Gc::new(Node { name: "a".into(), edges: RefCell::new(vec![]) });
//! let b = Gc::new(Node { name: "b".into(), edges: RefCell::new(vec![a.clone()]) });
//! a.edges.borrow_mut().push(b.clone()); // a <-> b: a cycle
//! assert_eq!(Gc::strong_count(&a), 2);
//!
//! drop((a, b)); // counting alone cannot free the cycle...
//! assert_eq!(gc_core::collect(), 2); // ...the collector does
//! ```
//!
//! # The model
//!
//! - **Counting.** Every `Gc` handle adds one to its value's strong count.
//!   At zero the value is finalized (if it has a [`Finalize`] impl), dropped
//!   and freed at once. Acyclic garbage never waits for a collection.
//!   Dropping a deep structure (a list of a million nodes) does not recurse
//!   deeply: past a fixed depth, frees are queued, as in CPython's
//!   "trashcan".
//! - **Tracking.** Values whose type can hold a `Gc` are *tracked*: the
//!   collector knows about them. Values that cannot (numbers, strings, or
//!   structs of such fields, as the derive works out at compile time) are
//!   untracked: an 8-byte header (an `Rc` has 16: half of it), freed by
//!   counting alone, never visited by the collector. A type with a
//!   hand-written `Trace` impl is tracked (the impl cannot tell the
//!   collector otherwise without the derive's analysis); so is every type
//!   with a field traced `with` a function.
//! - **Closures and listeners.** A closure cannot be traced; [`Closure`]
//!   keeps the captured state that holds `Gc`s (traced) apart from code that
//!   captures none, and `Vec<Box<dyn Callback<E>>>` of listeners that point
//!   back at their owner is collected like any other cycle (see the
//!   `observer` example).
//! - **Bulk loading.** Building a large live structure at start-up (an
//!   interpreter loading a program, an editor opening a document) costs
//!   close to what `Rc` costs: objects that no handle was dropped from are
//!   never examined (see the next point). [`freeze`] the loaded structure to
//!   take it out of the lists altogether.
//! - **Automatic collection follows the garbage.** A cycle can only become
//!   garbage when a reference into it is dropped, so the first drop that
//!   leaves a count in an object since the collector last examined it makes
//!   the object a *candidate* (the drop fast path stays one compare). When
//!   tracked allocations minus deallocations exceed `t0` ([`threshold`]), an
//!   automatic *step* examines the young candidates and the young objects
//!   they reach, moves every other young object to the old generation
//!   unexamined, and then examines old candidates with everything they
//!   reach, up to a [`budget`] of objects per step. Garbage stays bounded
//!   (tracked objects ≤ live + max(live / 2, 20,000)); a live component
//!   larger than the budget that candidates keep reaching is examined whole,
//!   in one longer pause, about once per its size in allocations (the
//!   `collector::auto` notes in the source give the argument and the costs).
//! - **Generations.** New tracked objects start in generation 0; automatic
//!   steps move them to generation 2. [`collect_generation`] and [`collect`]
//!   keep Python's meaning: they examine whole generations, and survivors
//!   move one generation up. [`freeze`] moves everything to a permanent
//!   generation that collections skip.
//! - **Finding cycles** (CPython's trial deletion). For the generations being
//!   collected: copy each object's strong count, subtract one for each
//!   reference found by tracing those objects, and what stays above zero is
//!   referenced from outside. Those objects, and everything they reach,
//!   survive; the rest is cyclic garbage.
//! - **Finalization order** (PEP 442). Weak references to the garbage are
//!   cleared first; then each garbage object's finalizer runs, once in its
//!   life, with all the garbage still intact; then the collector checks
//!   whether a finalizer resurrected anything (stored a clone of a garbage
//!   `Gc` somewhere reachable): resurrected objects and all they reach
//!   survive unharmed. The rest, all of it already marked dead, is dropped
//!   one value at a time and freed.
//! - **Dead handles.** While garbage values are dropped, a `Drop` impl may
//!   reach a `Gc` of the same garbage: that handle is *dead*, whether its
//!   value is already gone or about to go. Dereferencing it panics with a
//!   clear message, and [`Gc::try_deref`] returns `None`. Its memory is freed
//!   only when the last handle goes, so nothing ever dangles.
//!
//! ```text
//!  young gen ──┐
//!  (gen 1) ────┼─► copy counts ─► subtract inner edges ─► mark from survivors
//!  (gen 2) ────┘                                            │            │
//!                                      reachable: promote ◄─┘            ▼
//!                                                      garbage: clear weak refs
//!                                                               ─► finalize (once)
//!                                                               ─► re-check (resurrection)
//!                                                               ─► drop values, free
//! ```
//!
//! # Safety model
//!
//! No unsafe code is needed to use this crate, and nothing a safe user does
//! can cause undefined behaviour:
//!
//! - [`Trace`] is a safe trait. A wrong impl (a field left out, one reported
//!   twice, a trace that changes over time, that reports handles its value
//!   does not own, or that moves, clones or drops handles while it runs) can
//!   leak or make a handle dead, never more. The *Soundness* section below
//!   is the argument.
//! - Every strong-count increment is overflow-checked, on every path: past
//!   the limit the increment panics before the count changes; a count never
//!   wraps.
//! - `Pin` holds: a value made by [`Gc::pin`] is never moved out or handed
//!   out as `&mut`, through any handle.
//! - `Drop` impls are allowed on traced types; in cyclic garbage they see
//!   the other garbage through dead handles (a panic or `None`, never a
//!   dangling pointer).
//! - A panic in a `Drop`, finalizer or `trace` during a collection leaves the
//!   collector consistent; the panic reaches the caller once the collection
//!   has finished its bookkeeping.
//! - `Drop` impls and finalizers may allocate, clone, drop and call
//!   [`collect`] during a collection (a nested `collect` returns 0).
//! - A `RefCell` that is mutably borrowed while a collection runs is not
//!   read: its owner is kept alive for that collection.
//! - [`Gc::get_mut`] hands out a `&mut T`; while it lives no collection
//!   creates a reference to that value.
//! - Each thread has its own heap (`Gc` is neither `Send` nor `Sync`). When a
//!   thread exits, its remaining cyclic garbage is collected (a bounded
//!   number of times); a `Gc` dropped during or after thread-local teardown
//!   is handled safely.
//!
//! The unsafe code lives in a few internal modules. Its rules are stated
//! once, numbered: the heap block's invariants (I1 to I9) in the docs of the
//! heap block's module, the slab allocator's (P1 to P5, for pages) in the
//! slab's, the one argument for the heap's object lists (L1) on that type,
//! and the steps of the argument below, S1 to S7 (S7 for the thread-safe
//! heap, whose modules number their own rules: the gate G1-G4, the counts
//! C1-C5, the blocks Y1-Y4, the lists H1-H4). Every `unsafe fn` says in
//! its `# Safety` what its caller guarantees, and every `unsafe` block cites
//! the invariant, step or contract it relies on.
//!
//! # Soundness
//!
//! The collector frees memory only when the counts say no handle remains
//! (I1), so no handle ever dangles. What needs an argument is the other
//! thing it does: dropping the *value* of an object it judged to be cyclic
//! garbage while handles to it still exist. That is sound exactly when no
//! reference into the value can be used afterwards. The argument, with `S`
//! the set of objects one analysis examines (the generations collected, or
//! the garbage again after finalizers), `c(Y)` the strong count of `Y`
//! copied when the analysis starts, `e(Y)` the number of edges to `Y` the
//! analysis counted, and *the tracing phase* the time from the first trace
//! of an object of `S` until the last one returns:
//!
//! 1. **S1 (the start).** Before any user code runs, the collector takes
//!    one strong count on every object of `S` (so none is freed while it
//!    works), copies `c(Y)`, and marks all of `S` *dead*. While dead, an
//!    object cannot be dereferenced (`Deref` panics) and [`Weak::upgrade`]
//!    fails on it; the set is taken out of the generation lists, so the
//!    [`debug`] functions, which walk the lists, do not see it. An
//!    automatic step's set *grows* to its closure: an object `Y` outside it
//!    joins when the first edge to it is counted (S3), and the same three
//!    things happen to it then, in the tracing phase. That is as good as at
//!    the start: no edge to `Y` was counted before, the edge that makes it
//!    join is a live handle included in the `c(Y)` just copied, and from
//!    then on S4 sees every new handle to `Y`. (A handle to `Y` made earlier
//!    in the phase, before it was dead, is in `c(Y)` too.) A set of whole
//!    generations is *entered lazily* while all its members are trusted
//!    (S2): each member enters when the phase first reaches it, by the
//!    tracing loop or by a counted edge, whichever comes first. No user
//!    code runs from the start of such a phase until a member is found
//!    untrusted, so no handle is made, dropped or moved in between, and a
//!    count copied then is `c(Y)`. That member ends the attempt before it
//!    is traced: every member not yet entered enters, every scratch count
//!    is copied anew, and the recording starts over as above, so the
//!    untrusted traces still run only after all of S1.
//! 2. **S2 (reported handles stay put).** [`Trace::trace`] receives
//!    `&'a self` and a `Tracer<'a>` that accepts only `&'a Gc` handles. So
//!    each reported handle is reached from the traced value through `'a`
//!    borrows: plain shared references (no safe `&`-API moves a value out
//!    of one), write-once cells (`OnceCell`, `OnceLock` never hand their
//!    value back), or a cell read through this crate's `RefCell`, `Mutex`
//!    and `RwLock` impls or [`Tracer::borrow`]/[`Tracer::lock`]/
//!    [`Tracer::read`], which push the cell's borrow or lock guard into the
//!    tracer *before* the contents are traced. The tracer keeps every guard
//!    until no user code can run any more in the tracing phase (a cell impl
//!    drops its guard earlier only when no counted report came from inside
//!    it, so nothing counted lies behind it). Objects whose type's `trace`
//!    is *trusted* are traced last, after every other object of `S`: a
//!    trusted trace runs nothing but other trusted traces and this crate's
//!    code, which move nothing, so once the untrusted traces have returned
//!    no code can move a reported handle, and the guards go (those of the
//!    untrusted traces then, the trusted ones' at once). If an untrusted
//!    object joins a growing set (S1) after trusted objects were traced
//!    without their guards, nothing of it is traced: the recording starts
//!    over with every guard held to the end of the phase. Only this crate's
//!    impls and the derive vouch for trust, with an `unsafe` token whose
//!    contract the derive keeps by emitting nothing but field traces; a
//!    hand-written impl is untrusted unless its author writes `unsafe`.
//!    `Tracer` cannot be constructed, emptied or swapped by user code, and
//!    is invariant in `'a`. Hence a counted handle stays at its address,
//!    pointing at its target, until the tracing phase ends, however later
//!    traces behave: a trace that tries to move it panics on the held borrow
//!    (and the analysis keeps everything). A region (S3) opened inside a
//!    cell's window must be closed when the window ends, or the guard stays
//!    and the analysis keeps everything (a panic caught inside a trace can
//!    skip a region's close).
//! 3. **S3 (owned memory only).** An edge `X -> Y` is counted only when the
//!    reported handle's bytes lie in memory `X` owns: `X`'s value bytes, or
//!    a heap buffer vouched for by this crate's container impls (`Box`,
//!    `Vec`, `VecDeque`, `BinaryHeap`, `LinkedList`, `BTreeMap`, `HashMap`,
//!    ...), each of which vouches only when the container itself lies in
//!    memory `X` owns, and which own their buffers alone (`Rc`, `Arc` and
//!    `&T` report nothing); or memory vouched for by the unsafe
//!    [`Tracer::trace_owned`], whose caller promises the same. Regions of
//!    different objects are disjoint as long as every region is closed
//!    before the memory it covers can change hands: each region is popped
//!    by the impl that pushed it, and one found still open (a caught panic)
//!    at any pop or at the end of the object's trace makes the analysis keep
//!    everything. Within one object a handle is told by its address (S2: it
//!    does not move), and one reported twice makes the analysis keep
//!    everything. So the counted edges are distinct
//!    handles, each lying in memory that only its source's value reaches.
//!    Any other reported handle (a thread-local, a leaked box, another
//!    object's field, an older object during a young collection, an `Rc`
//!    shared with outside code) is ignored, which only keeps its target.
//! 4. **S4 (nothing new).** Every strong-count increment for a new handle
//!    (`Clone`, `Weak::upgrade`, [`debug`]'s handles) goes through one slow
//!    path (`gc::inc_strong_slow`, reached whenever a flag such as dead is
//!    set), which, for an object being examined, records that a handle was
//!    made; any such record makes the analysis keep everything. (The only
//!    other increments are the collector's own count and `new_cyclic`
//!    publishing its first handle, neither on an examined object.) Counts can still go
//!    *down* (a handle dropped by a trace). So for every `Y` that can be
//!    judged garbage, its count at the end of the tracing phase is at most
//!    `c(Y)`, and at least `e(Y)` (S3: `e(Y)` distinct live handles).
//! 5. **S5 (the garbage is closed).** `Y` is judged garbage only when
//!    `c(Y) - e(Y) = 0` and no object with `c - e > 0` reaches it through
//!    counted edges. By S4 its count is then exactly `e(Y)`: every handle to
//!    `Y` is a counted edge from some `X`, and `X` is garbage too (else `Y`
//!    would be reached). A reference into `Y`'s value that could be used
//!    later is borrowed from a handle to `Y`, which then lies inside a
//!    garbage value; that value is borrowed through a handle to it, and so
//!    on. The chain is finite, so it starts at a reference held outside
//!    every garbage value, pointing into garbage: impossible, since every
//!    handle to garbage lies inside garbage. So when the tracing phase
//!    ends, no usable reference into any garbage value exists.
//! 6. **S6 (after the phase).** The guards are released. Marking runs over
//!    the recorded edges alone (no user code, no second trace). From then
//!    until the values are dropped, the only user code that runs is
//!    finalizers, which run with the garbage live and are followed by a
//!    fresh analysis of the garbage (S1 to S5 again, its own tracing phase),
//!    and the `Drop` (and finalizer) of a survivor whose last handle went
//!    during the phase, released when survivors are promoted: the garbage is
//!    dead by then, so such code cannot reach into it. Before the
//!    first value is dropped, all garbage is dead again, so a `Drop` cannot
//!    make a new reference into a garbage value (a dead handle panics on
//!    `Deref`, `Weak::upgrade` fails). Objects detached by [`Gc::get_mut`]
//!    are never traced and always kept (I5); a nested collection does
//!    nothing.
//!
//! **Between automatic steps** the program runs, but no analysis is under
//! way: each step is one whole analysis of its own set, S1 to S6, begun and
//! finished while the program waits (a set closed under references when it
//! is an old step). What a step leaves for later (the `LOST` marks, the
//! candidate queue, the debt) only chooses which objects the next step
//! examines, never what is garbage, so a candidate missed or stale can
//! delay a collection but not free a live value. The queue holds raw
//! pointers; a queued object's block is not freed, even when both counts
//! reach zero, until the queue takes the entry out (I11).
//!
//! 7. **S7 (the thread-safe heap).** A [`sync`] collection is the same
//!    analysis, run inside a *pause* of the gate that every operation on a
//!    `sync::Gc` passes through. It differs from S1 to S6 only in what
//!    keeps the examined set still; each point takes the place of the
//!    thread-local mechanism it names.
//!    - (a) *No count changes while it traces* (for S4). Every count change
//!      is an operation inside the gate (counts C2); a pause waits for the
//!      operations under way and holds back new ones (gate G1, G2). The
//!      collecting thread's own operations during its pause (a trace that
//!      clones, drops or allocates) are counted, and any of them makes the
//!      analysis keep everything. So the copied count `c(Y)` is the count
//!      when the tracing phase ends.
//!    - (b) *No member's value goes* (for S1's count). A member's count is
//!      not zero: a zero count is final, and its object skipped (C1:
//!      another thread may be dropping the value). The collecting thread
//!      defers the drops its last handles start during its pause, and
//!      refuses `try_unwrap` and `get_mut` on objects the pause examines;
//!      a value lent out by `get_mut` is not a member (C5).
//!    - (c) *Other threads* keep running outside the gate. Without an
//!      operation they can only move handles among places they hold
//!      exclusively: their stacks, values they own, and the insides of
//!      cells they hold locked. A cell the tracer cannot lock keeps its
//!      owner, and nothing inside it is counted; a cell the tracer locked
//!      stays locked until the phase ends (S2), so no counted handle moves;
//!      a handle moved into an uncounted place only makes its target look
//!      referenced from outside. So S2, S3 and S5 hold as on one thread:
//!      every handle to a garbage object lies inside garbage values.
//!    - (d) *After the pause* (for S6). Garbage is claimed before the pause
//!      ends: its weak references are cleared and the collector takes a
//!      count (C3), so no thread can reach it again. Finalizers run after
//!      the pause, then a second pause analyses the claimed set again and
//!      keeps what they resurrected; what is still garbage is condemned
//!      (dead) before any value is dropped. Values are dropped on the
//!      collecting thread after the pauses (`T: Send`, as for `Arc`).
//!    - (e) *Memory.* A block is freed only when its weak word reaches zero
//!      (Y1); a list holds a share, so a listed block outlives its value
//!      until a pause takes it out (H2).
//!
//! No decision to drop rests on a check a trace can aim at: the collector
//! compares addresses the trace cannot move (S2) with regions that it and
//! this crate's impls compute (S3), and counts exactly; there is no
//! checksum or hash whose collision a crafted trace could compute.
//!
//! What a wrong but safe `trace` can still do: leave handles out (a leak),
//! report ones it does not own (ignored: a leak, counted in
//! [`GenerationStats::rejected`]), report one twice, or clone one from an
//! object being examined (the analysis keeps everything), or mutably borrow
//! a cell another trace reported (a panic inside the collection, which then
//! keeps everything). Never undefined behaviour.
//!
//! # Features
//!
//! - `derive` (default): re-exports `#[derive(Trace)]` from `gc-derive`.
//! - `serde`: `Serialize` and `Deserialize` for `Gc<T>` (sharing and cycles
//!   are not preserved).
//!
//! `Trace` for other crates' containers, each behind a feature of the crate's
//! name (all off by default):
//!
//! | feature | types | how they are traced |
//! |---|---|---|
//! | `hashbrown` | `HashMap`, `HashSet`, `HashTable` | per element, as std's `HashMap` |
//! | `indexmap` | `IndexMap`, `IndexSet` and their slices | the entries' buffer, which the map owns alone |
//! | `smallvec` | `SmallVec` | inline elements in place; a spilled buffer, owned alone |
//! | `arrayvec` | `ArrayVec`; `ArrayString` (leaf) | in place |
//! | `thin-vec` | `ThinVec` | its buffer, owned alone, as `Vec` |
//! | `slotmap` | `SlotMap`, `DenseSlotMap`, `HopSlotMap`, `SecondaryMap`, `SparseSecondaryMap`; keys (leaves) | per value |
//! | `either` | `Either` | in place, as `Result` |
//! | `imbl` | `Vector`, `HashMap`, `HashSet`, `OrdMap`, `OrdSet` | **not traced**, as `Rc` |
//! | `rpds` | `List`, `Vector`, `Stack`, `Queue`, `HashTrieMap`, `HashTrieSet`, `RedBlackTreeMap`, `RedBlackTreeSet` | **not traced**, as `Rc` |
//!
//! The persistent collections of `imbl` and `rpds` share their nodes between
//! versions, so no value owns them alone: like `Rc` they report nothing, and
//! a cycle through one leaks (it is never freed early).
//!
//! # The `gc` module of Python, in Rust
//!
//! | Python | Rust |
//! |---|---|
//! | `gc.collect(generation=2)` | [`collect`], [`collect_generation`] |
//! | `gc.enable()`, `gc.disable()`, `gc.isenabled()` | [`enable`], [`disable`], [`is_enabled`] |
//! | `gc.get_threshold()`, `gc.set_threshold()` | [`threshold`], [`set_threshold`] |
//! | `gc.get_count()` | [`count`] |
//! | `gc.get_stats()` | [`stats`] |
//! | `gc.freeze()`, `gc.unfreeze()`, `gc.get_freeze_count()` | [`freeze`], [`unfreeze`], [`freeze_count`] |
//! | `len(gc.get_objects())` | [`tracked_count`] |
//! | `gc.is_tracked(obj)` | [`Gc::is_tracked`] |
//! | `gc.callbacks` | [`add_callback`], [`remove_callback`] |
//! | `__del__` | [`Finalize`] |
//! | `weakref.ref` | [`Weak`] |
// A loom build (`--cfg loom`) is for the models of `sync::gate` and
// `sync::counts` only: the thread-safe heap that uses them is left out.
#![cfg_attr(loom, allow(dead_code))]

// Lets the derive's `::gc_core` paths resolve inside this crate's own tests.
extern crate self as gc_core;

mod closure;
mod collector;
pub mod debug;
mod gc;
mod gc_box;
mod header;
mod slab;
pub mod sync;
mod trace;
mod weak;

pub use closure::{Callback, Closure};
pub use collector::{
    CallbackId, CollectInfo, GenerationStats, Phase, add_callback, budget, collect,
    collect_generation, count, disable, enable, freeze, freeze_count, is_enabled, remove_callback,
    set_budget, set_threshold, stats, threshold, tracked_count, unfreeze,
};
pub use gc::Gc;
#[doc(hidden)]
pub use trace::{__GcTrusted, __gc_spend, __gc_tracked_of};
pub use trace::{Finalize, Trace, Tracer};
pub use weak::Weak;

#[cfg(feature = "derive")]
#[doc = include_str!("derive.md")]
pub use gc_derive::Trace;

/// Makes a `Gc<dyn Trait>` (or any unsized `Gc<U>` a `&T` coerces to) from a
/// concrete value in one step, taking the target type from context.
///
/// `gc_dyn!(value)` is `Gc::unsize(Gc::new(value), |v| v as &_)`: stable
/// Rust has no unsizing coercion for `Gc`, so the coercion happens on a
/// reference, whose target the compiler infers from where the result goes.
/// [`Gc::from`] a `Box<dyn Trait>` does the same from a box (see
/// [`Gc`]'s `From<Box<T>>`).
///
/// # Panics
///
/// As [`Gc::new`]: resumes a panic of an automatic collection.
///
/// # Examples
///
/// ```
/// use gc_core::{Gc, Trace, gc_dyn};
///
/// trait Shape: Trace {
///     fn area(&self) -> u32;
/// }
///
/// #[derive(Trace)]
/// struct Square(u32);
///
/// impl Shape for Square {
///     fn area(&self) -> u32 {
///         self.0 * self.0
///     }
/// }
///
/// let one: Gc<dyn Shape> = gc_dyn!(Square(3));
/// let many: Vec<Gc<dyn Shape>> = vec![gc_dyn!(Square(1)), gc_dyn!(Square(2))];
/// assert_eq!(one.area() + many.iter().map(|s| s.area()).sum::<u32>(), 14);
/// ```
#[macro_export]
macro_rules! gc_dyn {
    ($value:expr $(,)?) => {
        $crate::Gc::unsize($crate::Gc::new($value), |value| value as &_)
    };
}
