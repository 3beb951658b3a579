//! Helpers shared by the example programs: a tiny deterministic random
//! number generator (so every run prints the same thing, with no
//! dependencies) and a shortener for `std::any::type_name` strings.

/// A small deterministic pseudo-random generator (`SplitMix64`).
///
/// Not for cryptography: the examples only need the same "random" graph on
/// every run.
///
/// # Examples
///
/// ```
/// use gc_examples::Rng;
///
/// let mut a = Rng::new(7);
/// let mut b = Rng::new(7);
/// assert_eq!(a.next_u64(), b.next_u64());
/// assert!(a.below(10) < 10);
/// ```
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator started from `seed`.
    #[must_use]
    pub const fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` must not be 0).
    ///
    /// # Panics
    ///
    /// Panics if `n == 0`.
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "Rng::below: empty range");
        // Widening then narrowing: the result is < n, so it fits a usize.
        let n64 = n as u64;
        usize::try_from(self.next_u64() % n64).unwrap_or(0)
    }

    /// `true` with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
}

/// `std::any::type_name` without module paths:
/// `core::cell::RefCell<alloc::vec::Vec<my_app::Node>>` becomes
/// `RefCell<Vec<Node>>`.
///
/// # Examples
///
/// ```
/// use gc_examples::short_type_name;
///
/// assert_eq!(
///     short_type_name("core::cell::RefCell<alloc::vec::Vec<app::Node>>"),
///     "RefCell<Vec<Node>>"
/// );
/// assert_eq!(short_type_name("(i32, app::x::Y)"), "(i32, Y)");
/// ```
#[must_use]
pub fn short_type_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut word = String::new();
    for ch in name.chars() {
        if ch.is_alphanumeric() || ch == '_' || ch == ':' {
            word.push(ch);
        } else {
            out.push_str(word.rsplit("::").next().unwrap_or(&word));
            word.clear();
            out.push(ch);
        }
    }
    out.push_str(word.rsplit("::").next().unwrap_or(&word));
    out
}
