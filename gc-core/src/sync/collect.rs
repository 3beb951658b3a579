//! A collection of the thread-safe heap.
//!
//! 1. **Pause** (the graph stopped, gate G1-G4): every nursery moves into
//!    the shared list (H2); objects whose last handle dropped their value
//!    leave it; the rest are analysed by trial deletion, as the
//!    thread-local collector does (the crate docs' steps S1-S3, and S7 for
//!    what the pause adds): each member's count, minus the counted edges
//!    from the other members' traces; whatever a positive remainder
//!    reaches is kept; the rest is garbage and is *claimed* (counts C3).
//!    Cell guards are held until the analysis ends.
//! 2. **After the pause** (other threads run again): finalizers run on the
//!    claimed objects that have one (PEP 442), then a second, shorter pause
//!    analyses the claimed set again and keeps whatever a finalizer
//!    resurrected; without finalizers the first pause decides.
//! 3. The confirmed garbage is *condemned* (C3) in the pause; its values
//!    are dropped after it, and then the collector's counts go.

use std::time::Instant;

use super::boxed::{DROPPED, FINALIZED, Header, HeaderPtr, LISTED};
use super::gate::Stopped;
use super::heap::{self, HEAP, Local, Thread, merge_nurseries, with_thread};
use super::release::{drop_deferred, drop_strong};
use super::stats;
use crate::trace::{DONE, KEEP, Tracer};

/// The scratch count of a listed object outside the analysis: dying
/// (count zero, C1) or detached (C5).
const OUT: u32 = u32::MAX - 2;

/// Runs a full collection of the thread-safe heap on this thread; returns
/// the number of objects freed. Nested calls (from a `trace`, finalizer or
/// `Drop` the collection runs) and calls once this thread's thread-locals
/// are gone return 0.
pub(crate) fn collect() -> usize {
    with_thread(|t| match t {
        Some(t) if !t.collecting.get() => {
            t.collecting.set(true);
            let _reset = Reset(t);
            run(t)
        }
        _ => 0,
    })
}

/// Clears the thread's collection flag, also when a `trace`, finalizer or
/// `Drop` panics.
struct Reset<'t>(&'t Thread);

impl Drop for Reset<'_> {
    fn drop(&mut self) {
        self.0.collecting.set(false);
    }
}

/// One collection.
fn run(t: &Thread) -> usize {
    let start = Instant::now();
    let mut panics = Panics::default();
    let mut released = Vec::new();
    let (claimed, finalize) = {
        let stopped = HEAP.gate.stop(t.reg());
        t.pause_ops.set(0);
        let mut shared = heap::shared(&stopped);
        let list = &mut shared.list;
        merge_nurseries(&stopped, list);
        sweep(list, &stopped, &mut released);
        // A panicking trace: nothing is garbage this time.
        let garbage = panics
            .catch(|| analyse(list, &stopped, t, None))
            .unwrap_or_default();
        let claimed: Vec<HeaderPtr> = garbage.iter().map(|&i| list[i]).collect();
        for &h in &claimed {
            // SAFETY: listed blocks are allocated (the list's weak count).
            unsafe { h.as_ref() }.counts.claim(&stopped);
        }
        // SAFETY: as above.
        let finalize = claimed
            .iter()
            .any(|h| unsafe { h.as_ref() }.state() & FINALIZED == 0);
        if !finalize {
            condemn(list, &claimed, &stopped);
        }
        HEAP.allocated
            .store(0, core::sync::atomic::Ordering::Relaxed);
        HEAP.survivors
            .store(list.len(), core::sync::atomic::Ordering::Relaxed);
        (claimed, finalize)
    };
    after_pause(t, released, &mut panics);
    let condemned = if finalize {
        finalize_and_recheck(t, &claimed, &mut panics)
    } else {
        claimed
    };
    let n = condemned.len();
    drop_condemned(condemned, &mut panics);
    stats::record(n, start.elapsed());
    panics.resume();
    n
}

/// The first panic of a `trace`, finalizer or `Drop` a collection ran: the
/// collection goes on without that one call and resumes the panic when it
/// is done, so that no claimed object keeps the collector's count.
#[derive(Default)]
struct Panics(Option<Box<dyn core::any::Any + Send>>);

impl Panics {
    /// Runs `f`; `None` if it panicked (the first panic is kept).
    fn catch<R>(&mut self, f: impl FnOnce() -> R) -> Option<R> {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
            Ok(r) => Some(r),
            Err(p) => {
                self.0.get_or_insert(p);
                None
            }
        }
    }

    /// Resumes the first panic, if any.
    fn resume(self) {
        if let Some(p) = self.0 {
            std::panic::resume_unwind(p);
        }
    }
}

/// After the pauses: drops the values of the condemned objects, then gives
/// up the list's weak count (`condemn` unlisted them) and the collector's
/// strong count of each.
fn drop_condemned(condemned: Vec<HeaderPtr>, panics: &mut Panics) {
    for &h in &condemned {
        // SAFETY: condemned (C3): dead handles cannot reach the value, and
        // the collector's count keeps it; this drops it once (Y2), and a
        // panic in its `Drop` leaves the rest of it undropped (leaked).
        panics.catch(|| unsafe { Header::drop_value(h) });
    }
    for h in condemned {
        // SAFETY: `condemn` took the block out of the list, whose weak count
        // this is; the collector's strong count still holds the block (Y1).
        unsafe { Header::release_weak(h) };
        // SAFETY: the collector's count (C3), given up once.
        unsafe { drop_strong(h) };
    }
}

/// After a pause: the list's weak counts of the blocks it let go, and the
/// drops deferred during it.
fn after_pause(t: &Thread, released: Vec<HeaderPtr>, panics: &mut Panics) {
    for h in released {
        // SAFETY: the list's weak count of a block the pause unlisted.
        unsafe { Header::release_weak(h) };
    }
    let deferred = core::mem::take(&mut *t.deferred.borrow_mut());
    for h in deferred {
        // SAFETY: its count went to zero on this thread during the pause
        // (`heap::Thread::deferred`), given to `drop_deferred` once.
        panics.catch(|| unsafe { drop_deferred(h) });
    }
}

/// Runs the finalizers of the claimed objects, then re-checks them in a
/// second pause: returns the condemned ones; the collector's count of the
/// others (resurrected) goes.
fn finalize_and_recheck(t: &Thread, claimed: &[HeaderPtr], panics: &mut Panics) -> Vec<HeaderPtr> {
    for &h in claimed {
        // SAFETY: claimed (C3): the collector's count keeps the value, which
        // nobody can drop; finalizers see it intact.
        let hd = unsafe { h.as_ref() };
        if hd.state() & FINALIZED == 0 {
            hd.set_state(FINALIZED);
            // SAFETY: as above.
            panics.catch(|| unsafe { Header::finalize(h) });
        }
    }
    let (condemned, resurrected) = {
        let stopped = HEAP.gate.stop(t.reg());
        t.pause_ops.set(0);
        let mut shared = heap::shared(&stopped);
        let list = &mut shared.list;
        merge_nurseries(&stopped, list);
        // The claimed objects are still listed, at positions the merge
        // does not move; analysed alone, with the collector's own count
        // taken off.
        let positions: Vec<usize> = claimed
            .iter()
            // SAFETY: claimed blocks are allocated (the collector's count).
            .map(|h| unsafe { h.as_ref() }.pos())
            .collect();
        // A panicking trace: everything claimed is kept.
        let garbage = panics
            .catch(|| analyse(list, &stopped, t, Some(&positions)))
            .unwrap_or_default();
        let mut is_garbage = vec![false; claimed.len()];
        for &j in &garbage {
            is_garbage[j] = true;
        }
        let (condemned, resurrected): (Vec<_>, Vec<_>) =
            claimed.iter().zip(&is_garbage).partition(|&(_, &g)| g);
        let condemned: Vec<HeaderPtr> = condemned.into_iter().map(|(&h, _)| h).collect();
        let resurrected: Vec<HeaderPtr> = resurrected.into_iter().map(|(&h, _)| h).collect();
        condemn(list, &condemned, &stopped);
        HEAP.survivors
            .store(list.len(), core::sync::atomic::Ordering::Relaxed);
        (condemned, resurrected)
    };
    // Only the drops deferred during this pause: it swept nothing.
    after_pause(t, Vec::new(), panics);
    for h in resurrected {
        // SAFETY: the collector's count of a claimed object it keeps.
        unsafe { drop_strong(h) };
    }
    condemned
}

/// During a pause: takes out of `list` the blocks whose value a last
/// handle dropped (H2); their list weak counts go into `released`.
fn sweep(list: &mut Vec<HeaderPtr>, stopped: &Stopped<'_, Local>, released: &mut Vec<HeaderPtr>) {
    retain(list, |h| {
        // SAFETY: listed blocks are allocated (the list's weak count).
        let hd = unsafe { h.as_ref() };
        let gone = hd.counts.count(stopped) == 0 && hd.state() & DROPPED != 0;
        if gone {
            hd.clear_state(LISTED);
            released.push(h);
        }
        !gone
    });
}

/// During a pause: condemns `garbage` (claimed) and takes it out of
/// `list`; the caller gives up the list's weak counts after the pause
/// ([`drop_condemned`]).
fn condemn(list: &mut Vec<HeaderPtr>, garbage: &[HeaderPtr], stopped: &Stopped<'_, Local>) {
    if garbage.is_empty() {
        return;
    }
    for &h in garbage {
        // SAFETY: claimed blocks are allocated (the collector's count).
        let hd = unsafe { h.as_ref() };
        hd.counts.condemn(stopped);
        hd.clear_state(LISTED);
    }
    // SAFETY: as above; `LISTED` was just cleared on exactly the garbage.
    retain(list, |h| unsafe { h.as_ref() }.state() & LISTED != 0);
}

/// Keeps the blocks of `list` that `keep` picks, in order, and gives each
/// its new position.
fn retain(list: &mut Vec<HeaderPtr>, mut keep: impl FnMut(HeaderPtr) -> bool) {
    let mut w = 0;
    for r in 0..list.len() {
        let h = list[r];
        if keep(h) {
            list[w] = h;
            // SAFETY: listed blocks are allocated (the list's weak count).
            unsafe { h.as_ref() }.set_pos(w);
            w += 1;
        }
    }
    list.truncate(w);
}

/// The members of one analysis: all of a list, or the objects at some of
/// its positions.
#[derive(Clone, Copy)]
enum Members<'m> {
    All(usize),
    Some(&'m [usize]),
}

impl Members<'_> {
    fn len(self) -> usize {
        match self {
            Members::All(n) => n,
            Members::Some(p) => p.len(),
        }
    }

    /// The list position of member `m`.
    fn position(self, m: usize) -> usize {
        match self {
            Members::All(_) => m,
            Members::Some(p) => p[m],
        }
    }
}

/// No member: an edge to an object outside the analysis.
const NONE: u32 = u32::MAX;

/// Trial deletion over the members of `list` (all of it, or the objects at
/// `only`, each of which holds one collector count to discount); returns
/// the garbage: indexes into `list`, or into `only`.
///
/// Keeps everything (returns nothing) if a trace broke a rule the analysis
/// relies on (a handle reported twice, a region left open) or if this
/// thread ran an operation during the pause (a `trace` that cloned, dropped
/// or allocated: counts changed under the analysis).
fn analyse(
    list: &[HeaderPtr],
    stopped: &Stopped<'_, Local>,
    t: &Thread,
    only: Option<&[usize]>,
) -> Vec<usize> {
    let members = match only {
        Some(p) => Members::Some(p),
        None => Members::All(list.len()),
    };
    let n = members.len();
    let discount = u32::from(only.is_some());
    // `slot[i]`: the member at list position `i` (only for `Some`).
    let mut slot = Vec::new();
    if let Members::Some(p) = members {
        slot = vec![NONE; list.len()];
        for (m, &i) in p.iter().enumerate() {
            slot[i] = u32::try_from(m).expect("fewer than u32::MAX members");
        }
    }
    let mut refs = Vec::with_capacity(n);
    for m in 0..n {
        // SAFETY: listed blocks are allocated (the list's weak count).
        let hd = unsafe { list[members.position(m)].as_ref() };
        let c = hd.counts.count(stopped);
        let r = if c == 0 || hd.counts.is_detached(stopped) {
            OUT
        } else {
            c - discount.min(c)
        };
        refs.push(r);
    }
    let mut tracer = Tracer::for_sync();
    let mut starts: Vec<u32> = Vec::with_capacity(n + 1);
    let ops = t.pause_ops.get();
    for m in 0..n {
        starts.push(edge_index(tracer.sync_edges.len()));
        if refs[m] == OUT {
            continue;
        }
        tracer.keep_current = false;
        // SAFETY: a member has a count (not dying, C1) and is not detached
        // (C5); during the pause no other thread changes a count, and this
        // thread's own operations are counted (checked just below) and its
        // last drops deferred, so its value stays initialised and its block
        // allocated until the pause ends, after the tracer is gone.
        unsafe { Header::trace(list[members.position(m)], &mut tracer) };
        if !tracer.end_object() || tracer.unreadable || t.pause_ops.get() != ops {
            return Vec::new();
        }
        if tracer.keep_current {
            refs[m] = KEEP;
        }
    }
    starts.push(edge_index(tracer.sync_edges.len()));
    // Resolve each edge to a member (or none), subtracting it.
    let mut targets: Vec<u32> = Vec::with_capacity(tracer.sync_edges.len());
    for &block in &tracer.sync_edges {
        let target = resolve(list, members, &slot, block.cast(), stopped);
        if target != NONE {
            let r = &mut refs[target as usize];
            if *r == 0 {
                // Reported more often than it is referenced: keep it.
                *r = KEEP;
            } else if *r < KEEP && *r != OUT {
                *r -= 1;
            }
        }
        targets.push(target);
    }
    drop(tracer);
    mark(&mut refs, &starts, &targets);
    (0..n)
        .filter(|&m| refs[m] != DONE && refs[m] != OUT)
        .collect()
}

/// An index into the recorded edges, as the analysis stores it.
///
/// # Panics
///
/// Panics past `u32::MAX` edges in one analysis.
fn edge_index(i: usize) -> u32 {
    u32::try_from(i).expect("sync::collect: more than u32::MAX edges in one analysis")
}

/// The member an edge to the block `h` reaches ([`NONE`] if none); an edge
/// to a detached object shows that its `&mut` has ended (C5).
fn resolve(
    list: &[HeaderPtr],
    members: Members<'_>,
    slot: &[u32],
    h: *const Header,
    stopped: &Stopped<'_, Local>,
) -> u32 {
    // SAFETY: `h` is the block of a handle reported from inside a traced
    // member's value, which the held guards kept in place (step S2): that
    // handle holds a strong count, so the block is allocated (Y1).
    let hd = unsafe { &*h };
    let pos = hd.pos();
    if list.get(pos).map(|p| p.as_ptr().cast_const()) != Some(h) {
        return NONE;
    }
    if hd.counts.is_detached(stopped) {
        hd.counts.attach_stopped(stopped);
    }
    match members {
        // A list position below `u32::MAX` (`Header::set_pos`).
        Members::All(_) => edge_index(pos),
        Members::Some(_) => slot[pos],
    }
}

/// Marks everything a member with a positive remainder reaches (`DONE`).
fn mark(refs: &mut [u32], starts: &[u32], targets: &[u32]) {
    let mut stack: Vec<u32> = Vec::new();
    for (m, r) in refs.iter_mut().enumerate() {
        if *r != 0 && *r != OUT {
            *r = DONE;
            stack.push(edge_index(m));
        }
    }
    while let Some(m) = stack.pop() {
        let m = m as usize;
        for &t in &targets[starts[m] as usize..starts[m + 1] as usize] {
            if t != NONE && refs[t as usize] != DONE && refs[t as usize] != OUT {
                refs[t as usize] = DONE;
                stack.push(t);
            }
        }
    }
}
