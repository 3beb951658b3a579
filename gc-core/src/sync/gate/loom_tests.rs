//! Loom models of the gate protocol (G1 to G4): every interleaving of a few
//! threads, with the pause's exclusion checked by loom's own race detector
//! on a cell that operations write and pauses read.

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;

use super::Gate;
use crate::sync::loom_model as model;

/// A value operations write inside the gate and pauses read: loom reports a
/// data race if an operation and a pause could overlap.
struct Graph(UnsafeCell<u64>);

// SAFETY: only touched under the gate's exclusion, which is what loom checks
// (an overlap is reported as a race, not silently allowed).
unsafe impl Sync for Graph {}

impl Graph {
    fn new() -> Graph {
        Graph(UnsafeCell::new(0))
    }
    fn operate(&self) {
        // SAFETY: called inside the gate (G1): no pause overlaps, and loom
        // checks that.
        self.0.with_mut(|v| unsafe { *v += 1 });
    }
    fn read(&self) -> u64 {
        // SAFETY: called while the graph is stopped: no operation overlaps,
        // and loom checks that.
        self.0.with(|v| unsafe { *v })
    }
}

#[test]
fn an_operation_racing_with_the_start_of_a_pause_never_overlaps_it() {
    model(|| {
        let gate = Arc::new(Gate::new());
        let graph = Arc::new(Graph::new());
        let (g, gr) = (gate.clone(), graph.clone());
        let op = thread::spawn(move || {
            let reg = g.register(());
            let inside = g.enter(&reg);
            gr.operate();
            drop(inside);
        });
        let reg = gate.register(());
        let stopped = gate.stop(&reg);
        let seen = graph.read();
        drop(stopped);
        op.join().unwrap();
        // The operation ran wholly before or wholly after the pause.
        assert!(seen == 0 || seen == 1);
        assert_eq!(graph.read(), 1);
    });
}

#[test]
fn an_operation_that_meets_a_pause_waits_and_then_runs() {
    model(|| {
        let gate = Arc::new(Gate::new());
        let graph = Arc::new(Graph::new());
        let (g, gr) = (gate.clone(), graph.clone());
        let reg = gate.register(());
        let stopped = gate.stop(&reg);
        let op = thread::spawn(move || {
            let reg = g.register(());
            for _ in 0..2 {
                let inside = g.enter(&reg);
                gr.operate();
                drop(inside);
            }
        });
        assert_eq!(graph.read(), 0, "no operation during the pause");
        drop(stopped);
        op.join().unwrap();
        assert_eq!(graph.read(), 2);
    });
}

#[test]
fn two_collectors_pause_one_after_the_other() {
    model(|| {
        let gate = Arc::new(Gate::new());
        let graph = Arc::new(Graph::new());
        let (g, gr) = (gate.clone(), graph.clone());
        let other = thread::spawn(move || {
            let reg = g.register(());
            let stopped = g.stop(&reg);
            // A pause may write what it owns (the collector's counts).
            gr.operate();
            drop(stopped);
        });
        let reg = gate.register(());
        let stopped = gate.stop(&reg);
        graph.operate();
        drop(stopped);
        other.join().unwrap();
        assert_eq!(graph.read(), 2);
    });
}

#[test]
fn a_thread_exiting_during_a_pause_neither_blocks_nor_is_missed() {
    model(|| {
        let gate = Arc::new(Gate::new());
        let graph = Arc::new(Graph::new());
        let (g, gr) = (gate.clone(), graph.clone());
        let exiting = thread::spawn(move || {
            let reg = g.register(());
            let inside = g.enter(&reg);
            gr.operate();
            drop(inside);
            // Thread exit: the registration goes, maybe mid-pause.
            drop(reg);
        });
        let reg = gate.register(());
        let stopped = gate.stop(&reg);
        let _ = graph.read();
        drop(stopped);
        exiting.join().unwrap();
        assert_eq!(graph.read(), 1);
    });
}

#[test]
fn the_collecting_thread_passes_its_own_gate() {
    model(|| {
        let gate = Arc::new(Gate::new());
        let (g, reg) = (gate.clone(), gate.register(()));
        let op = thread::spawn(move || {
            let reg = g.register(());
            drop(g.enter(&reg));
        });
        let stopped = gate.stop(&reg);
        // A trace that clones a handle during the pause (G3).
        drop(gate.enter(&reg));
        drop(stopped);
        op.join().unwrap();
    });
}

/// A thread's data as the heap keeps it: written inside the gate, read by
/// pauses, with the exit flag (heap H3).
struct Local {
    nursery: UnsafeCell<u64>,
    exited: loom::sync::atomic::AtomicBool,
}

// SAFETY: as `Graph`: only touched under the gate's exclusion.
unsafe impl Sync for Local {}

#[test]
fn a_thread_that_exits_during_a_collection_hands_over_what_it_holds() {
    use core::sync::atomic::Ordering::Relaxed;
    model(|| {
        let gate: Arc<Gate<Local>> = Arc::new(Gate::new());
        let g = gate.clone();
        let exiting = thread::spawn(move || {
            let reg = g.register(Local {
                nursery: UnsafeCell::new(0),
                exited: loom::sync::atomic::AtomicBool::new(false),
            });
            let inside = g.enter(&reg);
            // SAFETY: inside the gate (G1), checked by loom.
            reg.local().nursery.with_mut(|n| unsafe { *n = 7 });
            reg.local().exited.store(true, Relaxed);
            drop(inside);
            reg.retire();
        });
        let reg = gate.register(Local {
            nursery: UnsafeCell::new(0),
            exited: loom::sync::atomic::AtomicBool::new(false),
        });
        // One collection racing with the exit, one after it.
        let mut handed = 0;
        let stopped = gate.stop(&reg);
        for l in stopped.locals() {
            // SAFETY: the graph is stopped, checked by loom.
            handed += l.nursery.with_mut(|n| unsafe { core::mem::take(&mut *n) });
        }
        stopped.retire(|l| l.exited.load(Relaxed));
        drop(stopped);
        exiting.join().unwrap();
        let stopped = gate.stop(&reg);
        for l in stopped.locals() {
            // SAFETY: as above.
            handed += l.nursery.with_mut(|n| unsafe { core::mem::take(&mut *n) });
        }
        stopped.retire(|l| l.exited.load(Relaxed));
        drop(stopped);
        // Read exactly once, by whichever pause came after the write; and a
        // retired slot is gone once a pause saw it exited.
        assert_eq!(handed, 7);
        let stopped = gate.stop(&reg);
        assert_eq!(
            stopped.locals().count(),
            1,
            "only the collector's slot is left"
        );
    });
}
