//! Taking the value out of a [`Gc`], or getting unique access to it, as
//! `Rc`'s `try_unwrap`, `into_inner`, `unwrap_or_clone` and `make_mut` do.

use core::ptr;

use super::Gc;
use crate::collector::heap;
use crate::gc_box;
use crate::header::Flag;
use crate::trace::Trace;

impl<T> Gc<T> {
    /// Returns the value if this is its only strong handle, as
    /// [`Rc::try_unwrap`](std::rc::Rc::try_unwrap); otherwise gives the handle
    /// back. `Weak` handles then fail to upgrade.
    ///
    /// The value leaves the `Gc` intact: its finalizer (if any) does not run.
    /// A value in a live reference cycle always has another handle, so this
    /// fails for it. It also fails for a dead handle, (rarely) when called
    /// from a `trace` impl while a collection examines the object, and always
    /// for a value made by [`Gc::pin`] (a plain handle to it comes from
    /// [`debug::objects_of`](crate::debug::objects_of) or
    /// [`Garbage::downcast`](crate::debug::Garbage::downcast)): a pinned
    /// value never moves.
    ///
    /// # Errors
    ///
    /// Gives `this` back if another strong handle exists, or the value is
    /// pinned.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    ///
    /// let x = Gc::new(3);
    /// assert_eq!(Gc::try_unwrap(x), Ok(3));
    ///
    /// let x = Gc::new(4);
    /// let _y = Gc::clone(&x);
    /// assert_eq!(*Gc::try_unwrap(x).unwrap_err(), 4);
    /// ```
    pub fn try_unwrap(mut this: Self) -> Result<T, Self> {
        match Gc::take_value(&mut this) {
            Some(value) => {
                // `this` is now a dead handle; dropping it frees the block
                // (or leaves it to the `Weak`s).
                drop(this);
                Ok(value)
            }
            None => Err(this),
        }
    }

    /// Moves the value out if `this` is its only strong handle and the value
    /// is not pinned, leaving `this` a dead handle (so every path stays
    /// panic-safe).
    fn take_value(this: &mut Self) -> Option<T> {
        let c = this.counts();
        if !c.is_unique_live() {
            return None;
        }
        if let Some(obj) = Gc::obj(this)
            && (obj.has(Flag::Pinned) || !heap::unlist_for_move(obj))
        {
            return None;
        }
        // SAFETY: the box is allocated (this handle's count, I1).
        let v = unsafe { gc_box::value_ptr(this.ptr.as_ptr()) };
        // SAFETY: the value is initialised and this is its only handle, so
        // moving it out is its one use: the handle is marked dead at once (I2).
        let value = unsafe { ptr::read(v) };
        c.set_dead(true);
        Some(value)
    }

    /// Returns the value if this is its only strong handle, and drops the
    /// handle otherwise, as [`Rc::into_inner`](std::rc::Rc::into_inner).
    ///
    /// Like [`Gc::try_unwrap`], returns `None` for a value made by
    /// [`Gc::pin`], which never moves: the handle is dropped, and if it was
    /// the last one the value is dropped in place.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    ///
    /// let x = Gc::new(3);
    /// assert_eq!(Gc::into_inner(x), Some(3));
    ///
    /// let x = Gc::new(4);
    /// let y = Gc::clone(&x);
    /// assert_eq!(Gc::into_inner(x), None);
    /// assert_eq!(Gc::into_inner(y), Some(4));
    /// ```
    #[must_use = "the value is dropped at once otherwise"]
    pub fn into_inner(this: Self) -> Option<T> {
        Gc::try_unwrap(this).ok()
    }
}

impl<T: Clone> Gc<T> {
    /// Returns the value if this is its only handle, or else a clone of it,
    /// as [`Rc::unwrap_or_clone`](std::rc::Rc::unwrap_or_clone).
    ///
    /// A value made by [`Gc::pin`] is always cloned (it never moves; see
    /// [`Gc::try_unwrap`]), and the handle dropped.
    ///
    /// # Panics
    ///
    /// Panics if the handle is dead.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    ///
    /// let a = Gc::new(String::from("x"));
    /// let b = a.clone();
    /// assert_eq!(Gc::unwrap_or_clone(a), "x"); // cloned: `b` remains
    /// assert_eq!(Gc::unwrap_or_clone(b), "x"); // moved out
    /// ```
    #[must_use]
    pub fn unwrap_or_clone(this: Self) -> T {
        Gc::try_unwrap(this).unwrap_or_else(|gc| (*gc).clone())
    }
}

impl<T: Trace + Clone + 'static> Gc<T> {
    /// A mutable reference to the value, cloning it into a new allocation
    /// first if other `Gc` handles exist (copy-on-write), as
    /// [`Rc::make_mut`](std::rc::Rc::make_mut). If only `Weak` handles
    /// exist, the value is moved to a new allocation and the `Weak`s no
    /// longer upgrade. A value made by [`Gc::pin`] is always cloned (it
    /// never moves; see [`Gc::try_unwrap`]), and `this` then points to the
    /// clone.
    ///
    /// # Panics
    ///
    /// Panics if the handle is dead.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    ///
    /// let mut data = Gc::new(5);
    /// *Gc::make_mut(&mut data) += 1; // unique: no clone
    /// let other = data.clone();
    /// *Gc::make_mut(&mut data) += 1; // shared: clones
    /// assert_eq!((*data, *other), (7, 6));
    /// ```
    pub fn make_mut(this: &mut Self) -> &mut T {
        if Gc::get_mut(this).is_none() {
            let unique = this.counts().is_unique_live();
            // Only `Weak`s share a unique value: move it (they stop
            // upgrading). Otherwise, while a collection examines it, or if
            // it is pinned, clone.
            let value = match unique.then(|| Gc::take_value(this)).flatten() {
                Some(v) => v,
                None => (**this).clone(),
            };
            *this = Gc::new(value);
        }
        Gc::get_mut(this).expect("a new Gc has a single handle")
    }
}
