//! The counts' rules on one thread, and the limit.

use super::{Counts, MAX_HANDLES};
use crate::sync::gate::Gate;

#[test]
fn the_last_drop_owns_the_value_and_a_zero_count_stays_zero() {
    let gate = Gate::new();
    let reg = gate.register(());
    let c = Counts::new();
    let inside = gate.enter(&reg);
    assert!(c.inc_strong(&inside));
    assert!(!c.dec_strong(&inside));
    assert!(c.dec_strong(&inside), "the last handle");
    assert!(!c.upgrade(&inside), "C1: a zero count is final");
    drop(inside);
    let stopped = gate.stop(&reg);
    assert_eq!(c.count(&stopped), 0);
}

#[test]
fn a_claimed_object_cannot_be_upgraded() {
    let gate = Gate::new();
    let reg = gate.register(());
    let c = Counts::new();
    assert!(c.upgrade(&gate.enter(&reg)));
    let stopped = gate.stop(&reg);
    c.claim(&stopped);
    assert_eq!(
        c.count(&stopped),
        3,
        "two handles and the collector's count"
    );
    assert!(!c.is_dead(), "claimed, not yet condemned");
    c.condemn(&stopped);
    drop(stopped);
    assert!(c.is_dead() && c.is_cleared());
    assert!(!c.upgrade(&gate.enter(&reg)), "C3: cleared");
}

#[test]
fn get_mut_detaches_only_the_one_handle_and_a_clone_attaches_it() {
    let gate = Gate::new();
    let reg = gate.register(());
    let c = Counts::new();
    let inside = gate.enter(&reg);
    assert!(c.detach(&inside), "one handle");
    drop(inside);
    assert!(c.is_detached(&gate.stop(&reg)));
    let inside = gate.enter(&reg);
    assert!(c.inc_strong(&inside));
    assert!(!c.detach(&inside), "two handles");
    drop(inside);
    let stopped = gate.stop(&reg);
    assert!(!c.is_detached(&stopped), "C5: the clone attached it");
    assert_eq!(c.count(&stopped), 2);
}

#[test]
fn try_unwrap_takes_only_the_one_handle() {
    let gate = Gate::new();
    let reg = gate.register(());
    let c = Counts::new();
    let inside = gate.enter(&reg);
    assert!(c.inc_strong(&inside));
    assert!(!c.take_unique(&inside));
    assert!(!c.dec_strong(&inside));
    assert!(c.take_unique(&inside));
    assert!(!c.upgrade(&inside), "C1: zero is final");
}

#[test]
fn at_the_limit_an_increment_changes_nothing() {
    let gate = Gate::new();
    let reg = gate.register(());
    let c = Counts::new();
    c.strong
        .store(MAX_HANDLES, core::sync::atomic::Ordering::Relaxed);
    let inside = gate.enter(&reg);
    assert!(!c.inc_strong(&inside));
    assert!(!c.upgrade(&inside));
    assert!(!c.dec_strong(&inside));
    assert!(c.inc_strong(&inside), "one below the limit again");
    drop(inside);
    let stopped = gate.stop(&reg);
    assert_eq!(c.count(&stopped), MAX_HANDLES);
}

#[test]
#[should_panic(expected = "a dying object claimed")]
fn a_dying_object_is_never_claimed() {
    let gate = Gate::new();
    let reg = gate.register(());
    let c = Counts::new();
    assert!(c.dec_strong(&gate.enter(&reg)));
    let stopped = gate.stop(&reg);
    c.claim(&stopped);
}
