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
