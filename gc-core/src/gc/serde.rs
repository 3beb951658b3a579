//! `serde` support (feature `serde`): a `Gc<T>` serializes as its value and
//! deserializes into a new `Gc`.
//!
//! As with serde's `rc` feature for `Rc`, sharing is not preserved (two
//! handles to one value serialize as two copies and deserialize as two
//! allocations), and a reference cycle makes serialization recurse forever:
//! serialize only acyclic data, or skip the back edges.

use serde::de::{Deserialize, Deserializer};
use serde::ser::{Error, Serialize, Serializer};

use super::Gc;
use crate::trace::Trace;

impl<T: Serialize + ?Sized> Serialize for Gc<T> {
    /// Serializes the value.
    ///
    /// # Errors
    ///
    /// Fails for a dead handle, or if the value fails to serialize.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    ///
    /// let v = Gc::new(vec![1, 2]);
    /// assert_eq!(serde_json::to_string(&v).unwrap(), "[1,2]");
    /// ```
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match Gc::try_deref(self) {
            Some(v) => v.serialize(serializer),
            None => Err(S::Error::custom("cannot serialize a dead Gc handle")),
        }
    }
}

impl<'de, T> Deserialize<'de> for Gc<T>
where
    T: Trace + ?Sized + 'static,
    Box<T>: Deserialize<'de>,
{
    /// Deserializes a value into a new `Gc` (also `Gc<str>` and `Gc<[T]>`).
    ///
    /// # Errors
    ///
    /// Fails if the value fails to deserialize.
    ///
    /// # Examples
    ///
    /// ```
    /// use gc_core::Gc;
    ///
    /// let v: Gc<Vec<u8>> = serde_json::from_str("[1,2]").unwrap();
    /// assert_eq!(*v, [1, 2]);
    /// let s: Gc<str> = serde_json::from_str("\"hi\"").unwrap();
    /// assert_eq!(&*s, "hi");
    /// ```
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<T>::deserialize(deserializer).map(Gc::from)
    }
}
