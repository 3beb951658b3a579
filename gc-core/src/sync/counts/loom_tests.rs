//! Loom models of the counts with the gate: a last drop racing with a
//! pause, an upgrade racing with a pause that condemns, a clone racing with
//! a pause's read.

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;

use super::Counts;
use crate::sync::gate::Gate;
use crate::sync::loom_model as model;

/// An object: its counts and a value that loom watches for races.
struct Object {
    counts: Counts,
    value: UnsafeCell<u64>,
}

// SAFETY: the value is touched only as the protocol allows, which is what
// loom checks (an overlap is reported as a race).
unsafe impl Sync for Object {}

impl Object {
    fn new() -> Object {
        Object {
            counts: Counts::new(),
            value: UnsafeCell::new(7),
        }
    }
    fn read(&self) -> u64 {
        // SAFETY: only where the protocol says no drop overlaps; loom checks.
        self.value.with(|v| unsafe { *v })
    }
    fn drop_value(&self) {
        // SAFETY: only by the value's one owner; loom checks.
        self.value.with_mut(|v| unsafe { *v = 0 });
    }
}

#[test]
fn a_last_drop_racing_with_a_pause_is_never_read_while_dropped() {
    model(|| {
        let gate = Arc::new(Gate::new());
        let obj = Arc::new(Object::new());
        let (g, o) = (gate.clone(), obj.clone());
        let dropper = thread::spawn(move || {
            let reg = g.register(());
            let last = {
                let inside = g.enter(&reg);
                o.counts.dec_strong(&inside)
            };
            assert!(last);
            // The value's drop runs outside the gate, maybe during a pause.
            o.drop_value();
        });
        let reg = gate.register(());
        let stopped = gate.stop(&reg);
        // The analysis reads the value (its trace) only if it is not dying.
        if obj.counts.count(&stopped) != 0 {
            assert_eq!(obj.read(), 7);
        }
        drop(stopped);
        dropper.join().unwrap();
    });
}

#[test]
fn an_upgrade_racing_with_a_condemning_pause_never_reaches_the_dropped_value() {
    model(|| {
        // One strong count, from inside a garbage cycle, and a weak
        // reference on another thread.
        let gate = Arc::new(Gate::new());
        let obj = Arc::new(Object::new());
        let (g, o) = (gate.clone(), obj.clone());
        let upgrader = thread::spawn(move || {
            let reg = g.register(());
            let got = {
                let inside = g.enter(&reg);
                o.counts.upgrade(&inside)
            };
            if got {
                assert_eq!(o.read(), 7);
                let inside = g.enter(&reg);
                assert!(!o.counts.dec_strong(&inside));
            }
        });
        let reg = gate.register(());
        let stopped = gate.stop(&reg);
        // The cycle's own edge is the one count: garbage unless an upgrade
        // added one before the pause.
        let garbage = obj.counts.count(&stopped) == 1;
        if garbage {
            obj.counts.claim(&stopped);
            obj.counts.condemn(&stopped);
        }
        drop(stopped);
        if garbage {
            assert!(obj.counts.is_dead());
            obj.drop_value();
            let inside = gate.enter(&reg);
            // The cycle's edge and the collector's count go.
            assert!(!obj.counts.dec_strong(&inside));
            assert!(obj.counts.dec_strong(&inside));
        }
        upgrader.join().unwrap();
    });
}

#[test]
fn a_clone_racing_with_a_pause_is_seen_whole_or_not_at_all() {
    model(|| {
        let gate = Arc::new(Gate::new());
        let obj = Arc::new(Object::new());
        let (g, o) = (gate.clone(), obj.clone());
        let cloner = thread::spawn(move || {
            let reg = g.register(());
            let inside = g.enter(&reg);
            assert!(o.counts.inc_strong(&inside));
        });
        let reg = gate.register(());
        let stopped = gate.stop(&reg);
        let n = obj.counts.count(&stopped);
        assert!(n == 1 || n == 2);
        drop(stopped);
        cloner.join().unwrap();
        let stopped = gate.stop(&reg);
        assert_eq!(obj.counts.count(&stopped), 2);
    });
}
