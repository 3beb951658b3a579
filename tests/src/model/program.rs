//! Programs: the steps a case runs, and their proptest strategies.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::Union;

use super::{MAX_CHAIN, MAX_OPS};

/// What a node's `Drop` or finalizer does after checking itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Act {
    Nothing,
    /// Panics (unless the thread is already unwinding: that would abort).
    Panic,
    /// Allocates a tracked node and drops it at once.
    Alloc,
    /// Allocates a node that points to itself and drops the handle.
    Garbage,
    /// Calls `collect()`.
    Collect,
    /// Stores a clone of edge `n % len` in the stash (resurrection).
    Stash(u8),
}

/// What an armed `trace` does, the next time it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TraceAct {
    Panic,
    Alloc,
    Collect,
}

/// One step of a program. Numbers select among what exists at that point,
/// counting back from the most recent (modulo the length), so every program
/// is valid and shrinks well; a selection from nothing does nothing.
#[derive(Clone, Debug)]
pub(super) enum Op {
    /// A new root node with a finalizer (`fin`), a `Drop` action and edges to
    /// the selected roots.
    Alloc {
        fin: Option<Act>,
        drop: Act,
        links: Vec<u8>,
    },
    /// A new root at the head of a list of this many nodes.
    Chain(u8),
    /// A new root in a cycle of `len` nodes, each with this finalizer and
    /// `Drop` action.
    Ring {
        len: u8,
        fin: Option<Act>,
        drop: Act,
    },
    /// An edge from root `.0`'s node to root `.1`'s node.
    Link(u8, u8),
    /// Removes edge `.1` of root `.0`'s node.
    Unlink(u8, u8),
    DropRoot(u8),
    CloneRoot(u8),
    /// Makes edge `.1` of root `.0`'s node a new root.
    Descend(u8, u8),
    TakeWeak(u8),
    DropWeak(u8),
    /// Upgrades weak `.0`; keeps the result as a root if `.1`.
    Upgrade(u8, bool),
    /// Borrows root `root`'s cell (mutably or not) while `body` runs.
    Borrow {
        root: u8,
        mutable: bool,
        body: Vec<Op>,
    },
    /// Makes node `.0` (any node ever made, alive or not) unreadable to
    /// `trace`, as a custom cell that is borrowed does
    /// (`Tracer::mark_unreadable`).
    Lock(u8),
    Unlock(u8),
    /// Arms node `.0`'s `trace` (any node ever made).
    ArmTrace(u8, TraceAct),
    Collect,
    /// `collect_generation(g)`; 3 must panic.
    CollectGen(u8),
    Freeze,
    Unfreeze,
    Enable,
    Disable,
    SetThreshold(u8, u8, u8),
    /// `set_budget(n)` (1 to 64).
    SetBudget(u8),
    /// Drops the stash's handles (last first).
    ClearStash,
    /// Makes a clone of stash entry `.0` (if not a dead handle) a new root.
    FromStash(u8),
}

/// A generated case: initial thresholds and budget, then the steps.
#[derive(Clone, Debug)]
pub struct Program {
    pub(super) threshold: (u8, u8, u8),
    /// The budget of automatic old steps (`gc_core::set_budget`).
    pub(super) budget: u8,
    pub(super) ops: Vec<Op>,
}

/// Actions for a `Drop` (`fin == false`) or a finalizer: a finalizer more
/// often stashes an edge, which resurrects it when the node is garbage.
pub(super) fn act_strategy(faults: bool, fin: bool) -> BoxedStrategy<Act> {
    if !faults {
        return Just(Act::Nothing).boxed();
    }
    let (nothing, stash) = if fin { (3, 5) } else { (6, 2) };
    prop_oneof![
        nothing => Just(Act::Nothing),
        2 => Just(Act::Panic),
        1 => Just(Act::Alloc),
        1 => Just(Act::Garbage),
        1 => Just(Act::Collect),
        stash => any::<u8>().prop_map(Act::Stash),
    ]
    .boxed()
}

pub(super) fn leaf_op(faults: bool) -> BoxedStrategy<Op> {
    let alloc = (
        proptest::option::weighted(0.4, act_strategy(faults, true)),
        act_strategy(faults, false),
        vec(any::<u8>(), 0..3),
    )
        .prop_map(|(fin, drop, links)| Op::Alloc { fin, drop, links });
    let ring = (
        1u8..=4,
        proptest::option::weighted(0.5, act_strategy(faults, true)),
        act_strategy(faults, false),
    )
        .prop_map(|(len, fin, drop)| Op::Ring { len, fin, drop });
    let mut ops: Vec<(u32, BoxedStrategy<Op>)> = vec![
        (10, alloc.boxed()),
        (1, (1..=MAX_CHAIN).prop_map(Op::Chain).boxed()),
        (4, ring.boxed()),
        (
            10,
            any::<(u8, u8)>().prop_map(|(a, b)| Op::Link(a, b)).boxed(),
        ),
        (
            3,
            any::<(u8, u8)>()
                .prop_map(|(a, b)| Op::Unlink(a, b))
                .boxed(),
        ),
        (7, any::<u8>().prop_map(Op::DropRoot).boxed()),
        (1, any::<u8>().prop_map(Op::CloneRoot).boxed()),
        (
            3,
            any::<(u8, u8)>()
                .prop_map(|(a, b)| Op::Descend(a, b))
                .boxed(),
        ),
        (2, any::<u8>().prop_map(Op::TakeWeak).boxed()),
        (1, any::<u8>().prop_map(Op::DropWeak).boxed()),
        (
            2,
            any::<(u8, bool)>()
                .prop_map(|(a, b)| Op::Upgrade(a, b))
                .boxed(),
        ),
        (1, any::<u8>().prop_map(Op::Lock).boxed()),
        (1, any::<u8>().prop_map(Op::Unlock).boxed()),
        (4, Just(Op::Collect).boxed()),
        (3, (0u8..=3).prop_map(Op::CollectGen).boxed()),
        (1, Just(Op::Freeze).boxed()),
        (1, Just(Op::Unfreeze).boxed()),
        (1, Just(Op::Enable).boxed()),
        (1, Just(Op::Disable).boxed()),
        (
            1,
            (0u8..=10, 1u8..=4, 1u8..=4)
                .prop_map(|(a, b, c)| Op::SetThreshold(a, b, c))
                .boxed(),
        ),
        (1, (1u8..=64).prop_map(Op::SetBudget).boxed()),
        (1, Just(Op::ClearStash).boxed()),
        (2, any::<u8>().prop_map(Op::FromStash).boxed()),
    ];
    if faults {
        let arm = (
            any::<u8>(),
            prop_oneof![
                Just(TraceAct::Panic),
                Just(TraceAct::Alloc),
                Just(TraceAct::Collect),
            ],
        )
            .prop_map(|(n, a)| Op::ArmTrace(n, a));
        ops.push((3, arm.boxed()));
    }
    Union::new_weighted(ops).boxed()
}

/// Programs, with faults injected into `Drop`s, finalizers and traces if
/// `faults`.
pub fn program(faults: bool) -> impl Strategy<Value = Program> {
    let leaf = leaf_op(faults);
    let borrow =
        (any::<u8>(), any::<bool>(), vec(leaf.clone(), 0..6)).prop_map(|(root, mutable, body)| {
            Op::Borrow {
                root,
                mutable,
                body,
            }
        });
    let op = prop_oneof![25 => leaf, 1 => borrow];
    (
        (1u8..=10, 1u8..=4, 1u8..=4),
        prop_oneof![1u8..=4, 1u8..=64],
        vec(op, 1..=MAX_OPS),
    )
        .prop_map(|(threshold, budget, ops)| Program {
            threshold,
            budget,
            ops,
        })
}
