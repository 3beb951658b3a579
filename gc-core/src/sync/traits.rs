//! The std traits of [`Gc`], as `Arc` has them: formatting, comparison and
//! hashing through the value, `Default` and `From`.

use core::borrow::Borrow;
use core::cmp::Ordering;
use core::fmt;
use core::hash::{Hash, Hasher};

use super::gc::Gc;
use crate::trace::Trace;

impl<T: ?Sized + fmt::Debug> fmt::Debug for Gc<T> {
    /// Formats the value.
    ///
    /// ```
    /// assert_eq!(format!("{:?}", gc_core::sync::Gc::new(1)), "1");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for Gc<T> {
    /// Formats the value.
    ///
    /// ```
    /// assert_eq!(gc_core::sync::Gc::new(1).to_string(), "1");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T: ?Sized> fmt::Pointer for Gc<T> {
    /// Formats the value's address.
    ///
    /// ```
    /// let a = gc_core::sync::Gc::new(1);
    /// assert!(format!("{a:p}").starts_with("0x"));
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Pointer::fmt(&Gc::as_ptr(self), f)
    }
}

impl<T: ?Sized + PartialEq> PartialEq for Gc<T> {
    /// Compares the values.
    ///
    /// ```
    /// use gc_core::sync::Gc;
    /// assert_eq!(Gc::new(1), Gc::new(1));
    /// ```
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: ?Sized + Eq> Eq for Gc<T> {}

impl<T: ?Sized + PartialOrd> PartialOrd for Gc<T> {
    /// Compares the values.
    ///
    /// ```
    /// use gc_core::sync::Gc;
    /// assert!(Gc::new(1) < Gc::new(2));
    /// ```
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        (**self).partial_cmp(&**other)
    }
}

impl<T: ?Sized + Ord> Ord for Gc<T> {
    /// Compares the values.
    ///
    /// ```
    /// use gc_core::sync::Gc;
    /// assert_eq!(Gc::new(1).cmp(&Gc::new(2)), std::cmp::Ordering::Less);
    /// ```
    fn cmp(&self, other: &Self) -> Ordering {
        (**self).cmp(&**other)
    }
}

impl<T: ?Sized + Hash> Hash for Gc<T> {
    /// Hashes the value.
    ///
    /// ```
    /// use std::collections::HashSet;
    /// let set: HashSet<_> = [gc_core::sync::Gc::new(1)].into_iter().collect();
    /// assert!(set.contains(&gc_core::sync::Gc::new(1)));
    /// ```
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}

impl<T: ?Sized> AsRef<T> for Gc<T> {
    /// The value.
    ///
    /// ```
    /// let a = gc_core::sync::Gc::new(1);
    /// assert_eq!(*a.as_ref(), 1);
    /// ```
    fn as_ref(&self) -> &T {
        self
    }
}

impl<T: ?Sized> Borrow<T> for Gc<T> {
    /// The value.
    ///
    /// ```
    /// use std::borrow::Borrow;
    /// let a = gc_core::sync::Gc::new(1);
    /// let b: &i32 = a.borrow();
    /// assert_eq!(*b, 1);
    /// ```
    fn borrow(&self) -> &T {
        self
    }
}

impl<T: Trace + Default + Send + Sync + 'static> Default for Gc<T> {
    /// A `Gc` of the default value.
    ///
    /// ```
    /// let a: gc_core::sync::Gc<i32> = Default::default();
    /// assert_eq!(*a, 0);
    /// ```
    fn default() -> Self {
        Gc::new(T::default())
    }
}

impl<T: Trace + Send + Sync + 'static> From<T> for Gc<T> {
    /// A `Gc` of `value`.
    ///
    /// ```
    /// let a = gc_core::sync::Gc::from(1);
    /// assert_eq!(*a, 1);
    /// ```
    fn from(value: T) -> Self {
        Gc::new(value)
    }
}
