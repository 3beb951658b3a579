//! The lock guards a tracing phase holds (step S2), one per locked cell:
//! a guard of up to two words (std's `MutexGuard` and `RwLockReadGuard` of a
//! sized value) is kept inline, without an allocation per lock; a bigger
//! one is boxed.

use core::marker::PhantomData;
use core::mem::{MaybeUninit, align_of, size_of};

/// The inline room: two words.
type Words = [usize; 2];

/// Something whose only job is to be dropped later (a lock guard).
trait Held {}
impl<T: ?Sized> Held for T {}

/// One held guard that borrows data for `'a`.
pub(super) struct Guard<'a>(Repr<'a>);

enum Repr<'a> {
    /// A guard moved into `words`, dropped by `drop` (its type's
    /// `drop_in_place`).
    Inline {
        drop: unsafe fn(*mut Words),
        words: MaybeUninit<Words>,
        _borrows: PhantomData<&'a ()>,
    },
    Boxed(#[expect(dead_code, reason = "held only to be dropped")] Box<dyn Held + 'a>),
}

/// Drops the `G` in `p`.
///
/// # Safety
///
/// `p` holds a `G` (written by [`Guard::new`]), dropped once.
unsafe fn drop_as<G>(p: *mut Words) {
    // SAFETY: the caller's contract.
    unsafe { core::ptr::drop_in_place(p.cast::<G>()) }
}

impl<'a> Guard<'a> {
    /// Holds `g` until this is dropped.
    #[inline]
    pub(super) fn new<G: 'a>(g: G) -> Guard<'a> {
        if size_of::<G>() <= size_of::<Words>() && align_of::<G>() <= align_of::<Words>() {
            let mut words = MaybeUninit::<Words>::uninit();
            // SAFETY: `G` fits in `words` (size and alignment checked just
            // above); the value is moved in and dropped once, by `Drop`.
            unsafe { words.as_mut_ptr().cast::<G>().write(g) };
            Guard(Repr::Inline {
                drop: drop_as::<G>,
                words,
                _borrows: PhantomData,
            })
        } else {
            Guard(Repr::Boxed(Box::new(g)))
        }
    }
}

impl Drop for Guard<'_> {
    #[inline]
    fn drop(&mut self) {
        if let Repr::Inline { drop, words, .. } = &mut self.0 {
            // SAFETY: `new` wrote a guard of the type `drop` drops into
            // `words` (moving the `Guard` moved its bytes, which moves the
            // guard); this is its one drop. The guard's borrows last for
            // `'a`, which the `Guard` does not outlive.
            unsafe { drop(words.as_mut_ptr()) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Guard;
    use std::sync::{Mutex, RwLock};

    #[test]
    fn a_held_guard_keeps_its_lock_until_dropped() {
        let m = Mutex::new(1);
        let r = RwLock::new([0_u64; 4]);
        let big = Mutex::new(String::new());
        let mut held = vec![
            Guard::new(m.lock().unwrap()),
            Guard::new(r.write().unwrap()),
        ];
        held.push(Guard::new((big.lock().unwrap(), [0_u64; 4])));
        assert!(m.try_lock().is_err() && r.try_read().is_err() && big.try_lock().is_err());
        held.truncate(1);
        assert!(r.try_read().is_ok() && big.try_lock().is_ok());
        assert!(m.try_lock().is_err());
        drop(held);
        assert!(m.try_lock().is_ok());
    }
}
