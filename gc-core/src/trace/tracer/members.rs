//! How objects become members of the examined set: entered before the
//! tracing phase (`scan::partition`), entered lazily as the phase first
//! reaches them (a set of whole generations whose members are all
//! trusted), or joined when a growing set's edge reaches them. Each is
//! step S1 of the crate docs' *Soundness* for that object.

use super::{Tracer, range_of};
use crate::gc_box::HeadPtr;
use crate::header::{Flag, Flags, LOC_PERM};

/// The flags `obj` (flags `f`) gets as it enters a set located at `loc`:
/// whether it was a candidate is kept in `WasCandidate` and `Lost` is
/// cleared (a decrement during the analysis sets it anew, I10), and it has
/// no escape yet.
#[inline]
pub(crate) fn member_flags(obj: HeadPtr, f: Flags, loc: u32) -> Flags {
    f.with_loc(loc)
        .without(Flag::Lost)
        .without(Flag::Escapes)
        .set_to(Flag::WasCandidate, obj.is_candidate())
}

impl Tracer<'_> {
    /// Enters `obj` (flags `f`, not yet a member) at position `pos` of
    /// `work`, whose scratch counts (`refs`) already reach `pos`: the
    /// collector takes its count (I7) and copies the others, marks it dead
    /// and located in the set, and notes whether it was a candidate (I10,
    /// `Flag::WasCandidate`) and has a finalizer to run.
    #[inline]
    pub(crate) fn enter(&mut self, obj: HeadPtr, f: Flags, pos: usize) {
        obj.set_index(pos);
        obj.set_flags(member_flags(obj, f, self.set_loc));
        self.joined_finalizers |= f.has(Flag::HasFinalizer) && !f.has(Flag::Finalized);
        // The collector's count (I7): the spare above `MAX_HANDLES`; dead
        // from now on.
        self.refs[pos] = obj.counts().enter_set();
    }

    /// A handle to `obj`, located outside the set (`f`): `true` if `obj`
    /// is a member after all (entered or joined just now), so the edge
    /// counts as one inside the set.
    #[inline]
    pub(super) fn enters<H>(&mut self, obj: HeadPtr, f: Flags, handle: &H) -> bool {
        if f.loc() < self.lazy_end {
            self.enter_lazily(obj, f);
            return true;
        }
        self.noting && self.beyond(obj, f, handle)
    }

    /// `obj`, a listed member of a lazily entered set, reached by an edge
    /// before the loop reached it: enters at its position, its list index
    /// plus its generation's start in `work`. No user code runs in such a
    /// phase (every member is trusted), so its count is the one it had when
    /// the phase began (step S1).
    #[inline(never)]
    fn enter_lazily(&mut self, obj: HeadPtr, f: Flags) {
        let pos = self.lazy_base[f.loc() as usize] + obj.index();
        // Invariant I4; were it broken, the analysis keeps everything (a
        // panic in the tracing phase) rather than count the wrong member.
        assert!(
            self.work.get(pos) == Some(&obj),
            "Gc: a listed object's index is not its list position (invariant I4)"
        );
        self.enter(obj, f, pos);
    }

    /// A handle to `obj`, outside the set, when the set grows or its escapes
    /// are noted (`noting`, `Record` only): `true` if `obj` just
    /// joined the set (the edge is then counted as one inside it).
    #[cold]
    fn beyond<H>(&mut self, obj: HeadPtr, f: Flags, handle: &H) -> bool {
        let grows = self.grow & (1 << f.loc()) != 0;
        let (start, end) = range_of(handle);
        if !self.owns_range(start, end) {
            if grows {
                // An edge the set would have grown by: rejected, as one
                // into the set.
                self.reject();
            }
            return false;
        }
        if !grows {
            self.note_escape(f);
            return false;
        }
        self.join(obj, f);
        true
    }

    /// `obj`, reached by a counted edge from the set, joins it: out of its
    /// list, into `work` with the collector's count, its scratch count and
    /// the dead mark, as `scan::partition` does for the first members. Its
    /// count is read now, in the tracing phase; why that is as good as a
    /// count read before it began is step S1 of the crate docs' *Soundness*.
    #[cold]
    fn join(&mut self, obj: HeadPtr, f: Flags) {
        (self.unlist)(obj);
        let pos = self.work.len();
        self.work.push(obj);
        self.refs.push(0);
        self.enter(obj, f, pos);
    }

    /// A counted edge of the current object leaves the set for a tracked
    /// object the set does not grow into.
    #[inline]
    fn note_escape(&mut self, f: Flags) {
        if f.loc() < LOC_PERM
            && let Some(cur) = self.current
        {
            cur.set_flag(Flag::Escapes, true);
            self.escaped = true;
        }
    }
}
