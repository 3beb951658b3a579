//! Formatting, comparison and conversion traits of [`Gc`], delegating to the
//! value as `Rc`'s do.

use core::borrow::Borrow;
use core::cmp::Ordering;
use core::fmt;
use core::hash::{Hash, Hasher};

use super::Gc;

impl<T: ?Sized + fmt::Debug> fmt::Debug for Gc<T> {
    /// Formats the value; a dead handle prints `<dead Gc>`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    /// assert_eq!(format!("{:?}", Gc::new(vec![1, 2])), "[1, 2]");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Gc::try_deref(self) {
            Some(v) => fmt::Debug::fmt(v, f),
            None => f.write_str("<dead Gc>"),
        }
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for Gc<T> {
    /// Formats the value; a dead handle prints `<dead Gc>`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    /// assert_eq!(Gc::new(5).to_string(), "5");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Gc::try_deref(self) {
            Some(v) => fmt::Display::fmt(v, f),
            None => f.write_str("<dead Gc>"),
        }
    }
}

impl<T: ?Sized> fmt::Pointer for Gc<T> {
    /// Formats the address of the value.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    /// let a = Gc::new(1);
    /// assert_eq!(format!("{a:p}"), format!("{:p}", Gc::as_ptr(&a)));
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Pointer::fmt(&Gc::as_ptr(self), f)
    }
}

impl<T: ?Sized + PartialEq> PartialEq for Gc<T> {
    /// Compares the values (not the pointers; see [`Gc::ptr_eq`]).
    ///
    /// # Panics
    ///
    /// Panics if either handle is dead.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    /// assert_eq!(Gc::new(5), Gc::new(5));
    /// assert_ne!(Gc::new(5), Gc::new(6));
    /// ```
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: ?Sized + Eq> Eq for Gc<T> {}

impl<T: ?Sized + PartialOrd> PartialOrd for Gc<T> {
    /// Compares the values.
    ///
    /// # Panics
    ///
    /// Panics if either handle is dead.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    /// assert!(Gc::new(1) < Gc::new(2));
    /// ```
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        (**self).partial_cmp(&**other)
    }
}

impl<T: ?Sized + Ord> Ord for Gc<T> {
    /// Compares the values.
    ///
    /// # Panics
    ///
    /// Panics if either handle is dead.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    /// use std::cmp::Ordering;
    /// assert_eq!(Gc::new(1).cmp(&Gc::new(2)), Ordering::Less);
    /// ```
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        (**self).cmp(&**other)
    }
}

impl<T: ?Sized + Hash> Hash for Gc<T> {
    /// Hashes the value.
    ///
    /// # Panics
    ///
    /// Panics if the handle is dead.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    /// use std::collections::HashSet;
    /// let set: HashSet<Gc<i32>> = [Gc::new(1), Gc::new(1)].into_iter().collect();
    /// assert_eq!(set.len(), 1);
    /// ```
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}

impl<T: ?Sized> AsRef<T> for Gc<T> {
    /// The value.
    ///
    /// # Panics
    ///
    /// Panics if the handle is dead.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    /// let s: Gc<str> = Gc::from("hi");
    /// assert_eq!(AsRef::<str>::as_ref(&s), "hi");
    /// ```
    fn as_ref(&self) -> &T {
        self
    }
}

impl<T: ?Sized> Borrow<T> for Gc<T> {
    /// The value.
    ///
    /// # Panics
    ///
    /// Panics if the handle is dead.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    /// use std::collections::HashMap;
    /// let mut m = HashMap::new();
    /// m.insert(Gc::new(String::from("k")), 1);
    /// assert_eq!(m.get(&String::from("k")), Some(&1)); // looked up by `String`
    /// ```
    fn borrow(&self) -> &T {
        self
    }
}
