//! The gate under real threads: exclusion under load, a blocked thread that
//! does not delay a pause, registrations that go with their threads.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use super::Gate;

/// How long a pause may take before a test calls it stuck (it takes
/// microseconds; the margin is for a loaded CI machine).
const STUCK: Duration = Duration::from_secs(20);

#[test]
fn operations_never_run_during_a_pause() {
    let gate = Arc::new(Gate::new());
    let inside = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let ops = if cfg!(miri) { 50 } else { 100_000 };
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (gate, inside) = (gate.clone(), inside.clone());
            thread::spawn(move || {
                let reg = gate.register(());
                for _ in 0..ops {
                    let op = gate.enter(&reg);
                    inside.fetch_add(1, SeqCst);
                    inside.fetch_sub(1, SeqCst);
                    drop(op);
                }
            })
        })
        .collect();
    let collector = {
        let (gate, inside, done) = (gate.clone(), inside.clone(), done.clone());
        thread::spawn(move || {
            let reg = gate.register(());
            let mut pauses = 0;
            while !done.load(SeqCst) || pauses == 0 {
                let stopped = gate.stop(&reg);
                assert_eq!(inside.load(SeqCst), 0, "an operation ran during a pause");
                drop(stopped);
                pauses += 1;
            }
            pauses
        })
    };
    for w in workers {
        w.join().unwrap();
    }
    done.store(true, SeqCst);
    assert!(collector.join().unwrap() > 0);
    assert!(
        gate.slots.lock().unwrap().is_empty(),
        "every thread took its slot out"
    );
}

#[test]
fn a_thread_blocked_while_registered_does_not_delay_a_pause() {
    let gate = Arc::new(Gate::new());
    let (release, blocked) = mpsc::channel::<()>();
    let sleeper = {
        let gate = gate.clone();
        thread::spawn(move || {
            let reg = gate.register(());
            drop(gate.enter(&reg));
            // Blocked in a channel, registered, outside any operation.
            blocked.recv().unwrap();
            drop(gate.enter(&reg));
        })
    };
    let (finished, wait) = mpsc::channel();
    {
        let gate = gate.clone();
        thread::spawn(move || {
            let reg = gate.register(());
            for _ in 0..3 {
                drop(gate.stop(&reg));
            }
            finished.send(()).unwrap();
        });
    }
    assert!(
        wait.recv_timeout(STUCK).is_ok(),
        "a pause waited for a thread that was not in an operation"
    );
    release.send(()).unwrap();
    sleeper.join().unwrap();
}

#[test]
fn an_operation_waits_out_a_pause() {
    let gate = Arc::new(Gate::new());
    let reg = gate.register(());
    let stopped = gate.stop(&reg);
    let ran = Arc::new(AtomicBool::new(false));
    let op = {
        let (gate, ran) = (gate.clone(), ran.clone());
        thread::spawn(move || {
            let reg = gate.register(());
            let inside = gate.enter(&reg);
            ran.store(true, SeqCst);
            drop(inside);
        })
    };
    thread::sleep(Duration::from_millis(if cfg!(miri) { 1 } else { 50 }));
    assert!(!ran.load(SeqCst), "an operation passed a stopped gate");
    drop(stopped);
    op.join().unwrap();
    assert!(ran.load(SeqCst));
}

#[test]
fn a_poisoned_gate_still_works() {
    let gate = Arc::new(Gate::new());
    {
        let gate = gate.clone();
        // A panic while the registry is locked poisons it.
        let _ = thread::spawn(move || {
            let _held = gate.slots.lock().unwrap();
            panic!("poison the registry");
        })
        .join();
    }
    assert!(gate.slots.is_poisoned());
    let reg = gate.register(());
    drop(gate.enter(&reg));
    drop(gate.stop(&reg));
}
