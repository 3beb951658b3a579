//! Trial deletion: which objects of a set are reachable from outside it.
//!
//! This is CPython's `deduce_unreachable`, over a vector instead of an
//! intrusive list, with every object traced exactly once:
//!
//! 1. copy each object's strong count into a scratch count (`refs`), and
//!    mark the whole set dead (so a handle cloned from it is counted);
//! 2. trace each object once (the *tracing phase*): every reported handle
//!    that lies in memory the object owns and points into the set is
//!    recorded as an edge and subtracted from its target's scratch count;
//!    every cell guard a trace takes is held until the phase ends;
//!    a set of whole generations whose members are all trusted fuses
//!    steps 1 and 2 instead (one pass over the objects, not two; memory
//!    traffic is most of a large collection's time): each member is
//!    entered as the loop or an edge first reaches it, and an untrusted
//!    member sends the analysis back to the two separate steps;
//! 3. end the phase (release the guards), then, over the recorded edges
//!    alone, mark everything reachable from the objects whose scratch count
//!    stayed above zero (referenced from outside). No user code runs in this
//!    step.
//!
//! The marked part is reachable; the rest is garbage. The strong counts are
//! only read (besides the collector's own +1 on each object of the set, which
//! keeps them all allocated), so a panicking or lying `trace` cannot corrupt
//! them. Why a counted edge is a handle that only the garbage can reach is
//! the crate docs' *Soundness* argument (steps S1 to S6); this module
//! implements steps S1 to S4.
//!
//! The analysis keeps the whole set (nothing is garbage) when a trace broke a
//! rule it relies on: a handle reported twice by one object, a handle made
//! (cloned) from an object of the set while it was examined (S4), a region
//! left open by a panic caught inside a trace, or a panic.

use std::panic::{self, AssertUnwindSafe};

use super::heap;
use crate::gc_box::HeadPtr;
use crate::header::Flag;
use crate::trace::{DONE, KEEP, Tracer, member_flags};

/// How the examined set is held.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Start {
    /// A fresh set: the collector takes one strong count on each object now
    /// and keeps it until the object is promoted or disposed of, so no
    /// object of the set can be freed while the collector works.
    Fresh,
    /// Garbage already holding the collector's count (the resurrection
    /// check).
    Recheck,
}

/// What [`partition`] found.
pub(crate) struct Partition {
    /// `work[..reached]` is reachable.
    pub(crate) reached: usize,
    /// A `trace` panicked: everything was kept.
    pub(crate) panic: Option<Box<dyn std::any::Any + Send>>,
    /// A trace broke a rule of the analysis: everything was kept.
    pub(crate) inconsistent: bool,
    /// Some object of the set has a finalizer that has not run.
    pub(crate) finalizers: bool,
}

/// Partitions `tracer.work` into reachable (`work[..reached]`) and garbage.
///
/// Each object in `work` gets the location `tracer.set_loc` and its position
/// as its index, and is marked dead: the caller makes the reachable ones
/// live again, and drops the rest (or makes them live again too). If a
/// `trace` panics, or a trace broke a rule of the analysis, every object is
/// treated as reachable (and the panic payload is returned).
pub(crate) fn partition(tracer: &mut Tracer<'static>, start: Start) -> Partition {
    let n = tracer.work.len();
    tracer.refs.clear();
    tracer.refs.resize(n, 0);
    tracer.targets.clear();
    tracer.targets.reserve(n);
    tracer.degrees.clear();
    tracer.degrees.reserve(n);
    tracer.wide.clear();
    tracer.unreadable = false;
    tracer.joined_finalizers = false;
    tracer.escaped = false;
    // Escapes are noted when the set grows or the collector asked for them.
    let noting = tracer.grow != 0 || tracer.note_escapes;
    tracer.noting = noting;
    // Step S1 of the soundness argument: every count is copied, and the set
    // marked dead, before any user code runs. A set of whole generations is
    // entered lazily, member by member as the tracing phase first reaches
    // it, as long as every member is trusted (no user code runs then); the
    // first untrusted member ends that attempt before it is traced.
    let lazy = start == Start::Fresh && tracer.lazy_end != 0;
    let mut untrusted = 0;
    if !lazy {
        tracer.lazy_end = 0;
        untrusted = enter_all(tracer, start, false);
    }
    let heap = heap::heap();
    let made = heap.made_while_examined.get();

    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        if !lazy {
            record(tracer, untrusted);
        } else if record_lazily(tracer) {
            tracer.lazy_end = 0;
            close(tracer);
        } else {
            tracer.lazy_end = 0;
            let untrusted = enter_all(tracer, Start::Fresh, true);
            record(tracer, untrusted);
        }
    }));
    if tracer.lazy_end != 0 {
        // The lazy attempt ended by a panic: the members it did not reach
        // enter now, so that each holds the collector's count (I7).
        tracer.lazy_end = 0;
        enter_all(tracer, Start::Fresh, true);
    }
    // The end of the tracing phase: every guard goes, before any finalizer
    // or drop runs (step S2).
    tracer.end_phase();
    let finalizers = tracer.joined_finalizers;
    let n = tracer.work.len();
    let sound = !tracer.unreadable && heap.made_while_examined.get() == made;
    match result {
        Ok(()) if sound => {
            if noting && tracer.escaped {
                keep_candidates(tracer);
            }
            let reached = mark(tracer);
            Partition {
                reached,
                panic: None,
                inconsistent: false,
                finalizers,
            }
        }
        Ok(()) => {
            keep_all_candidates(tracer);
            Partition {
                reached: n,
                panic: None,
                inconsistent: true,
                finalizers,
            }
        }
        // The analysis is incomplete: keep everything.
        Err(payload) => {
            keep_all_candidates(tracer);
            Partition {
                reached: n,
                panic: Some(payload),
                inconsistent: false,
                finalizers,
            }
        }
    }
}

/// After a sound analysis whose escapes were noted: an object that was a
/// candidate stays one if it reaches, inside the set, an object with an
/// edge out of it (invariant I10: a cycle through older objects may pass
/// there) or one kept unread. The rest were examined with every reference
/// they can reach: no longer candidates.
fn keep_candidates(tracer: &mut Tracer<'static>) {
    let n = tracer.work.len();
    // Reverse edges, then everything that reaches an escape.
    let starts = starts_of(&tracer.degrees, &tracer.wide);
    let targets = &tracer.targets;
    let mut indeg = vec![0u32; n + 1];
    for &t in targets {
        indeg[t as usize + 1] += 1;
    }
    for i in 0..n {
        indeg[i + 1] += indeg[i];
    }
    let mut fill = indeg.clone();
    let mut sources = vec![0u32; targets.len()];
    for src in 0..n {
        for &t in &targets[starts[src] as usize..starts[src + 1] as usize] {
            let slot = &mut fill[t as usize];
            sources[*slot as usize] = u32::try_from(src).unwrap_or(u32::MAX);
            *slot += 1;
        }
    }
    // An object kept without being read (unreadable, detached,
    // over-reported) hides what it reaches: like an escape.
    let mut reaches: Vec<bool> = (tracer.work.iter().zip(&tracer.refs))
        .map(|(o, &r)| o.has(Flag::Escapes) || r == KEEP)
        .collect();
    let mut stack: Vec<usize> = (0..n).filter(|&i| reaches[i]).collect();
    while let Some(j) = stack.pop() {
        for &s in &sources[indeg[j] as usize..indeg[j + 1] as usize] {
            let s = s as usize;
            if !reaches[s] {
                reaches[s] = true;
                stack.push(s);
            }
        }
    }
    for (&r, &obj) in reaches.iter().zip(&tracer.work) {
        if r && obj.has(Flag::WasCandidate) {
            obj.set_flag(Flag::Lost, true);
        }
    }
}

/// After an analysis that kept everything: every candidate stays one.
fn keep_all_candidates(tracer: &mut Tracer<'static>) {
    for &obj in &tracer.work {
        if obj.has(Flag::WasCandidate) {
            obj.set_flag(Flag::Lost, true);
        }
    }
}

/// Step S1 for every member not entered yet: the collector's count and
/// the scratch count, the dead mark, the set's location. Members whose
/// trace may run user code go to the front: they are traced first (step
/// S2). Returns how many there are. After a lazy attempt (`after_lazy`),
/// the members it entered only get their scratch count anew.
fn enter_all(tracer: &mut Tracer<'static>, start: Start, after_lazy: bool) -> usize {
    let mut untrusted = 0;
    for i in 0..tracer.work.len() {
        let obj = tracer.work[i];
        let f = obj.flags();
        if after_lazy && f.loc() == tracer.set_loc {
            // Less the collector's own count (I7), taken when it entered.
            tracer.refs[i] = obj.counts().strong_count() - 1;
        } else {
            match start {
                Start::Fresh => tracer.enter(obj, f, i),
                Start::Recheck => {
                    obj.set_index(i);
                    obj.set_flags(member_flags(obj, f, tracer.set_loc));
                    tracer.joined_finalizers |=
                        f.has(Flag::HasFinalizer) && !f.has(Flag::Finalized);
                    let c = obj.counts();
                    c.set_dead(true);
                    // Less the collector's own count (I7), held since the
                    // first analysis.
                    tracer.refs[i] = c.strong_count().saturating_sub(1);
                }
            }
        }
        if !f.has(Flag::Trusted) {
            if i != untrusted {
                tracer.work.swap(i, untrusted);
                tracer.refs.swap(i, untrusted);
                tracer.work[i].set_index(i);
                obj.set_index(untrusted);
            }
            untrusted += 1;
        }
    }
    untrusted
}

/// Step 2 for a set entered lazily: members no list holds enter first,
/// then each member enters (unless an edge reached it already) and is
/// traced, in order, without holding guards: every member is trusted, so
/// no user code runs in the phase (S2), and a count copied when the phase
/// first reaches a member is the one it had when the phase began (S1).
/// `false` (nothing recorded kept) as soon as a member is untrusted,
/// before it is traced.
fn record_lazily(tracer: &mut Tracer<'static>) -> bool {
    /// How far ahead of the traced member the loop enters members.
    const AHEAD: usize = 16;
    let attempt = Attempt::begin(tracer);
    let n = tracer.work.len();
    for i in tracer.lazy_listed..n {
        let obj = tracer.work[i];
        let f = obj.flags();
        tracer.enter(obj, f, i);
        if !f.has(Flag::Trusted) {
            return false;
        }
    }
    tracer.hold_guards(false);
    for i in 0..n {
        // Members a little ahead enter before an edge reaches them (objects
        // made together point to each other), and their memory is fetched
        // early. Entering runs no user code, so an untrusted one may enter
        // too: it ends the attempt when the loop reaches it.
        if let Some(&ahead) = tracer.work.get(i + AHEAD) {
            let f = ahead.flags();
            if f.loc() != tracer.set_loc {
                tracer.enter(ahead, f, i + AHEAD);
            }
        }
        let obj = tracer.work[i];
        let f = obj.flags();
        if !f.has(Flag::Trusted) {
            // Start over the usual way: what was recorded goes, escapes
            // too (`enter_all` moves members, so their positions change).
            attempt.discard(tracer);
            for &o in &tracer.work {
                o.set_flag(Flag::Escapes, false);
            }
            tracer.escaped = false;
            return false;
        }
        if f.loc() != tracer.set_loc {
            tracer.enter(obj, f, i);
        }
        record_member(tracer, i, obj);
    }
    true
}

/// Where a recording began, so that it can be discarded and started over.
#[derive(Clone, Copy)]
struct Attempt {
    rejected: usize,
    rejected_by: usize,
}

impl Attempt {
    fn begin(tracer: &Tracer<'static>) -> Attempt {
        Attempt {
            rejected: tracer.rejected,
            rejected_by: tracer.rejected_by.len(),
        }
    }

    /// Ends the attempt's phase (its guards go) and forgets its edges and
    /// rejections.
    fn discard(self, tracer: &mut Tracer<'static>) {
        tracer.end_phase();
        tracer.rejected = self.rejected;
        tracer.rejected_by.truncate(self.rejected_by);
        tracer.targets.clear();
        tracer.degrees.clear();
        tracer.wide.clear();
    }
}

/// Records member `i`, `obj` (the members before it are recorded): its
/// edges follow theirs in `targets`; a detached one is kept unread (`get_mut` may have handed out a `&mut` to its value, invariant
/// I5); any other is traced, and a trace that broke a rule makes the
/// analysis keep everything.
#[expect(
    clippy::inline_always,
    reason = "once per member, from two loops; callgrind showed the call"
)]
#[inline(always)]
fn record_member(tracer: &mut Tracer<'static>, i: usize, obj: HeadPtr) {
    debug_assert_eq!(tracer.degrees.len(), i);
    if obj.counts().is_detached() {
        tracer.degrees.push(0);
        tracer.refs[i] = KEEP;
        tracer.escaped = true;
        return;
    }
    let before = tracer.targets.len();
    tracer.current = Some(obj);
    // SAFETY: `obj` is a member of the set (entered, S1), so it is
    // allocated (the collector holds a count on it, I7, I1), its value is
    // initialised (I2) and not detached (checked above, I5). The value stays
    // intact until the guards the trace takes are released (`end_phase`,
    // step S2).
    unsafe { obj.trace(tracer) };
    if !tracer.end_object() {
        tracer.unreadable = true;
    }
    let degree = tracer.targets.len() - before;
    match u8::try_from(degree) {
        Ok(d) if d < u8::MAX => tracer.degrees.push(d),
        _ => {
            tracer.degrees.push(u8::MAX);
            tracer.wide.push(u32::try_from(degree).unwrap_or(u32::MAX));
        }
    }
}

/// Ends the recording: every edge index fits the `u32`s of [`starts_of`].
fn close(tracer: &mut Tracer<'static>) {
    assert!(
        u32::try_from(tracer.targets.len()).is_ok(),
        "Gc: more than u32::MAX edges in one collection"
    );
    debug_assert_eq!(tracer.degrees.len(), tracer.work.len());
}

/// Where each member's edges start in `targets` (`starts[i]..starts[i + 1]`
/// for `work[i]`), from the recorded `degrees` and `wide` (the tracer's).
fn starts_of(degrees: &[u8], wide: &[u32]) -> Vec<u32> {
    let mut starts = Vec::with_capacity(degrees.len() + 1);
    let mut wide = wide.iter();
    let mut at = 0u32;
    for &d in degrees {
        starts.push(at);
        at += if d == u8::MAX {
            *wide.next().expect("a wide degree for each u8::MAX")
        } else {
            u32::from(d)
        };
    }
    starts.push(at);
    starts
}

/// Step 2: traces every object of the set once, recording and subtracting
/// the counted edges. The first `untrusted` objects' traces may run user
/// code: the guards they take are held until the last of them returned.
/// The rest are trusted (`Flag::Trusted`): no user code runs while they are
/// traced, so nothing can move what they report and their guards go at once.
///
/// A set that grows (`Tracer::grow`) appends the objects its edges reach.
/// If one of them is untrusted once trusted objects were traced without
/// their guards, the recording starts over with every guard held to the
/// end of the phase (user code will run after those traces; step S2).
fn record(tracer: &mut Tracer<'static>, untrusted: usize) {
    let attempt = Attempt::begin(tracer);
    if !trace_all(tracer, untrusted) {
        attempt.discard(tracer);
        for i in 0..tracer.work.len() {
            // Less the collector's own count (I7); a handle made or dropped
            // since the first attempt started is seen as in `partition`.
            tracer.refs[i] = tracer.work[i].counts().strong_count() - 1;
        }
        let all_held = trace_all(tracer, usize::MAX);
        debug_assert!(all_held);
    }
    close(tracer);
}

/// Traces `work` and what joins it, holding guards for the
/// first `untrusted`. `false` if an untrusted object came after a trace
/// whose guards were released (nothing of it traced).
fn trace_all(tracer: &mut Tracer<'static>, untrusted: usize) -> bool {
    tracer.hold_guards(true);
    let mut held = true;
    let mut i = 0;
    // `work` grows while it is traced when the set grows.
    while i < tracer.work.len() {
        let obj = tracer.work[i];
        let trusted = obj.has(Flag::Trusted);
        if trusted && held && untrusted != usize::MAX {
            debug_assert!(i >= untrusted);
            // No user code runs from here to the end of the phase (S2),
            // unless an untrusted object joins: then this returns.
            tracer.hold_guards(false);
            held = false;
        }
        if !trusted && !held {
            return false;
        }
        record_member(tracer, i, obj);
        i += 1;
    }
    true
}

/// Step 3: marks, over the recorded edges, everything reachable from the
/// objects referenced from outside, then moves the marked objects to the
/// front of `work`. Returns how many were marked.
fn mark(tracer: &mut Tracer<'static>) -> usize {
    // The starts are needed only once something is reachable.
    let mut starts: Vec<u32> = Vec::new();
    let refs = &mut tracer.refs;
    let targets = &tracer.targets;
    let mut stack: Vec<u32> = Vec::new();
    let mut marked = 0;
    for i in 0..refs.len() {
        if refs[i] == 0 || refs[i] == DONE {
            continue;
        }
        if starts.is_empty() {
            starts = starts_of(&tracer.degrees, &tracer.wide);
        }
        refs[i] = DONE;
        marked += 1;
        #[expect(
            clippy::cast_possible_truncation,
            reason = "lists are capped below u32::MAX"
        )]
        stack.push(i as u32);
        while let Some(j) = stack.pop() {
            let j = j as usize;
            for &t in &targets[starts[j] as usize..starts[j + 1] as usize] {
                let r = &mut refs[t as usize];
                if *r != DONE {
                    *r = DONE;
                    marked += 1;
                    stack.push(t);
                }
            }
        }
    }
    if marked == 0 || marked == refs.len() {
        // All garbage, or all reachable: nothing to move.
        return marked;
    }
    // Reached objects to the front (their order among themselves does not
    // matter), keeping every index right.
    let work = &mut tracer.work;
    let mut front = 0;
    for i in 0..work.len() {
        if refs[i] == DONE {
            if i != front {
                work.swap(i, front);
                work[front].set_index(front);
                work[i].set_index(i);
            }
            front += 1;
        }
    }
    front
}
