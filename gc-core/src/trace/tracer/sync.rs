//! How the thread-safe heap's analysis (`Mode::Sync`) uses the tracer: the
//! same owned regions, cell guards and twice-reported check as the
//! thread-local analysis, with each counted edge recorded as the address of
//! its target's block, for the `sync` collector to resolve.

use super::{Mode, Tracer, range_of};

impl<'a> Tracer<'a> {
    /// A tracer for one analysis of the thread-safe heap. Every guard is
    /// held until the tracing phase ends: user code (other objects' traces,
    /// other threads) may run until then (step S2).
    pub(crate) fn for_sync() -> Tracer<'a> {
        let mut t = Tracer::new(Mode::Sync, u32::MAX);
        t.hold_guards(true);
        t
    }

    /// Reports a strong edge to the thread-safe object whose block is
    /// `target`, through the handle `handle`: recorded only in `Mode::Sync`
    /// and only if `handle` lies in memory the traced value owns (step S3).
    /// The other modes ignore it: a `sync::Gc` inside a thread-local
    /// object is a root of neither heap.
    #[inline]
    pub(crate) fn visit_sync<H>(&mut self, target: *const (), handle: &H) {
        if self.mode != Mode::Sync {
            return;
        }
        let (start, end) = range_of(handle);
        if !self.owns_range(start, end) {
            self.rejected += 1;
            return;
        }
        self.sync_edges.push(target);
        if self.first_seen == 0 {
            self.first_seen = start;
        } else {
            self.seen.push(start);
        }
        self.counted += 1;
    }
}
