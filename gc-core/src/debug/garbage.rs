//! The garbage that `DebugFlags::SAVE_ALL` keeps (Python's `gc.garbage`),
//! and the types whose traces reported edges the collector ignored.

use core::fmt;
use std::any::TypeId;

use super::ObjectId;
use crate::Gc;
use crate::collector::heap::{Heap, with_heap};
use crate::collector::release;
use crate::gc::inc_strong_of;
use crate::gc_box::HeadPtr;

/// A type-erased strong handle to an object kept by
/// [`DebugFlags::SAVE_ALL`].
///
/// [`DebugFlags::SAVE_ALL`]: super::DebugFlags::SAVE_ALL
pub struct Garbage {
    obj: HeadPtr,
}

impl Garbage {
    /// Its id (see [`Garbage::downcast`] for an example).
    #[must_use]
    pub fn id(&self) -> ObjectId {
        ObjectId(self.obj.box_addr())
    }

    /// `std::any::type_name` of its value (see [`Garbage::downcast`] for
    /// an example).
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        self.obj.type_name()
    }

    /// Whether its value is a `T`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::debug::{self, DebugFlags};
    /// use gc_core::Gc;
    /// use std::cell::RefCell;
    ///
    /// type Cyclic = RefCell<Vec<Gc<RefCell<Vec<u8>>>>>;
    /// debug::set_debug(DebugFlags::SAVE_ALL);
    /// let a = Gc::new(RefCell::new(None::<Gc<dyn gc_core::Trace>>));
    /// *a.borrow_mut() = Some(Gc::unsize::<dyn gc_core::Trace>(a.clone(), |x| x));
    /// drop(a);
    /// assert_eq!(gc_core::collect(), 1);
    /// let saved = debug::garbage();
    /// assert!(saved[0].is::<RefCell<Option<Gc<dyn gc_core::Trace>>>>());
    /// assert!(!saved[0].is::<Cyclic>());
    /// drop(saved);
    /// debug::set_debug(DebugFlags::empty());
    /// debug::release_garbage();
    /// # gc_core::collect();
    /// ```
    #[must_use]
    pub fn is<T: 'static>(&self) -> bool {
        self.obj.type_id() == TypeId::of::<T>()
    }

    /// A `Gc<T>` to the object, if its value is a `T`.
    ///
    /// A value made by [`Gc::pin`] stays pinned: the handle cannot move it
    /// out (see [`Gc::pin`]).
    ///
    /// # Panics
    ///
    /// Panics, before changing any count, if the object already has the most
    /// strong handles it can have (`2^28 - 2`, see
    /// [`Gc::clone`](Gc#method.clone)).
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::debug::{self, DebugFlags};
    /// use gc_core::{Gc, Trace};
    /// use std::cell::RefCell;
    ///
    /// #[derive(Trace)]
    /// struct Node(RefCell<Option<Gc<Node>>>, u32);
    ///
    /// debug::set_debug(DebugFlags::SAVE_ALL);
    /// let a = Gc::new(Node(RefCell::new(None), 7));
    /// *a.0.borrow_mut() = Some(a.clone());
    /// drop(a);
    /// assert_eq!(gc_core::collect(), 1);
    /// let saved = debug::garbage();
    /// assert_eq!(saved.len(), 1);
    /// assert!(saved[0].type_name().ends_with("Node"));
    /// let node: Gc<Node> = saved[0].downcast().unwrap();
    /// assert_eq!(node.1, 7);
    /// drop((saved, node));
    /// debug::set_debug(DebugFlags::empty());
    /// assert_eq!(debug::release_garbage(), 1);
    /// assert_eq!(gc_core::collect(), 1); // now it is freed
    /// ```
    #[must_use]
    pub fn downcast<T: 'static>(&self) -> Option<Gc<T>> {
        if !self.is::<T>() {
            return None;
        }
        inc_strong_of(self.obj);
        // SAFETY: the type was just checked, and every box starts right after
        // its head (I3), so this is the object's `GcBox<T>`; saved garbage is
        // allocated and not yet dropped (I7, I2), and the count just taken
        // goes to the handle.
        Some(unsafe { Gc::from_inner(self.obj.typed_box::<T>()) })
    }
}

impl Clone for Garbage {
    /// Another handle to the same object (its strong count + 1).
    ///
    /// # Panics
    ///
    /// Panics, before changing the count, if the object already has the
    /// most strong handles it can have (`2^28 - 2`, see
    /// [`Gc::clone`](Gc#method.clone)).
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::debug::{self, DebugFlags};
    /// use gc_core::Gc;
    /// use std::cell::RefCell;
    ///
    /// type Node = RefCell<Option<Gc<dyn gc_core::Trace>>>;
    /// debug::set_debug(DebugFlags::SAVE_ALL);
    /// let a: Gc<Node> = Gc::new(RefCell::new(None));
    /// *a.borrow_mut() = Some(Gc::unsize::<dyn gc_core::Trace>(a.clone(), |x| x));
    /// drop(a);
    /// assert_eq!(gc_core::collect(), 1);
    /// let saved = debug::garbage();
    /// let copy = saved[0].clone();
    /// assert_eq!(copy.id(), saved[0].id());
    /// let node: Gc<Node> = copy.downcast().unwrap();
    /// assert_eq!(Gc::strong_count(&node), 5); // cycle, saved list, 2 Garbage, node
    /// drop((saved, copy, node));
    /// debug::set_debug(DebugFlags::empty());
    /// debug::release_garbage();
    /// assert_eq!(gc_core::collect(), 1);
    /// ```
    fn clone(&self) -> Self {
        inc_strong_of(self.obj);
        Garbage { obj: self.obj }
    }
}

impl Drop for Garbage {
    fn drop(&mut self) {
        // SAFETY: a `Garbage` holds one strong count on its object (I7),
        // given back once, here.
        unsafe { release::release_held(self.obj) };
    }
}

impl fmt::Debug for Garbage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} {}>", self.type_name(), self.id())
    }
}

/// Handles to the garbage kept so far by [`DebugFlags::SAVE_ALL`] (Python's
/// `gc.garbage`). The objects stay saved until [`release_garbage`].
///
/// [`DebugFlags::SAVE_ALL`]: super::DebugFlags::SAVE_ALL
///
/// # Panics
///
/// Panics if one of the objects already has the most strong handles it can
/// have (`2^28 - 2`, see [`Gc::clone`](Gc#method.clone)); every count is
/// then left as it was.
///
/// # Examples
///
/// ```
/// assert!(gc_core::debug::garbage().is_empty());
/// ```
#[must_use]
pub fn garbage() -> Vec<Garbage> {
    with_heap(|h| {
        h.saved
            .to_vec()
            .into_iter()
            .map(|obj| {
                // On a panic, the handles made so far are dropped.
                inc_strong_of(obj);
                Garbage { obj }
            })
            .collect()
    })
}

/// Lets go of the garbage kept by [`DebugFlags::SAVE_ALL`] and returns how
/// many objects were saved. If it is still garbage, the next collection
/// frees it (unless `SAVE_ALL` is still on, which keeps it again).
///
/// [`DebugFlags::SAVE_ALL`]: super::DebugFlags::SAVE_ALL
///
/// # Examples
///
/// ```
/// assert_eq!(gc_core::debug::release_garbage(), 0);
/// ```
pub fn release_garbage() -> usize {
    let saved = with_heap(release_saved);
    let n = saved.len();
    drop(saved);
    n
}

/// The types whose `trace` reported handles that the collector ignored,
/// with how many such edges each reported since the thread started, most
/// first.
///
/// The collector counts a reported handle only when it lies in memory the
/// traced value owns: the value's own bytes, or a container buffer that this
/// crate's `Box`, `Vec`, `HashMap`, ... impls vouch for. A handle reported
/// from anywhere else (elements reached by iterating a container by hand, a
/// thread-local, another object, an `Rc` shared with outside code) is
/// ignored and its target kept, so a cycle through it leaks. This names the
/// types whose traces do that (only edges to objects the collection was
/// examining are counted; see
/// [`GenerationStats::rejected`](crate::GenerationStats)).
///
/// # Examples
///
/// ```
/// use gc_core::{Gc, Trace, Tracer, debug};
/// use std::cell::RefCell;
///
/// struct ByHand(RefCell<Vec<Gc<ByHand>>>);
///
/// impl Trace for ByHand {
///     fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
///         if let Some(items) = tracer.borrow(&self.0) {
///             for item in items {
///                 item.trace(tracer); // wrong: call `items.trace(tracer)`
///             }
///         }
///     }
/// }
///
/// let a = Gc::new(ByHand(RefCell::new(vec![])));
/// a.0.borrow_mut().push(a.clone());
/// drop(a);
/// assert_eq!(gc_core::collect(), 0); // the cycle leaks...
/// let rejected = debug::rejected_edges();
/// assert!(rejected.iter().any(|(name, n)| name.ends_with("ByHand") && *n >= 1)); // ...and says why
/// ```
#[must_use]
pub fn rejected_edges() -> Vec<(&'static str, usize)> {
    with_heap(crate::collector::rejected_by)
}

/// Takes the saved garbage as handles (dropping them releases it).
pub(crate) fn release_saved(h: &Heap) -> Vec<Garbage> {
    h.saved
        .take()
        .into_iter()
        .map(|obj| Garbage { obj })
        .collect()
}
