//! Programs: the steps a case runs, their proptest strategies, and the
//! programs that caught planted bugs.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::Union;

use super::nodes::{Kind, UAct};
use super::{MAX_OPS, MAX_RING};

/// One step. Numbers select among what exists (modulo the count), so every
/// program is valid and shrinks well; a selection from nothing does nothing.
#[derive(Clone, Debug)]
pub(super) enum Op {
    /// A new node in root slot `slot` (the slot's old handle goes).
    New {
        kind: Kind,
        slot: u8,
    },
    /// A cycle of new nodes of these kinds, in this order of allocation;
    /// the first one goes into root slot `slot`.
    Ring {
        kinds: Vec<Kind>,
        slot: u8,
    },
    /// An edge from reachable node `from` to reachable node `to`.
    Link {
        from: u8,
        to: u8,
    },
    /// Removes edge `idx` of reachable node `from`.
    Unlink {
        from: u8,
        idx: u8,
    },
    /// A handle to reachable node `node` into root slot `slot`.
    Root {
        node: u8,
        slot: u8,
    },
    DropRoot(u8),
    /// A `Weak` to reachable node `node` into weak slot `weak`.
    Downgrade {
        node: u8,
        weak: u8,
    },
    /// Upgrades weak slot `weak`; the handle, if any, into root slot `slot`.
    Upgrade {
        weak: u8,
        slot: u8,
    },
    DropWeak(u8),
    /// Arms the trace of reachable `U` `node`.
    Arm {
        node: u8,
        act: UAct,
    },
    Collect,
    /// `collect_generation(g % 3)`.
    CollectGen(u8),
    SetThreshold(u8, u8, u8),
    Freeze,
    Unfreeze,
}

/// A generated case: initial thresholds, then the steps.
#[derive(Clone, Debug)]
pub struct Program {
    pub(super) threshold: (u8, u8, u8),
    pub(super) ops: Vec<Op>,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![6 => Just(Kind::T), 1 => Just(Kind::B), 2 => Just(Kind::U)]
}

fn u_act() -> impl Strategy<Value = UAct> {
    prop_oneof![Just(UAct::Pop), Just(UAct::Steal), Just(UAct::Alloc)]
}

fn t0() -> impl Strategy<Value = u8> {
    prop_oneof![Just(0u8), 1u8..=12, Just(200u8)]
}

fn op() -> impl Strategy<Value = Op> {
    let b = any::<u8>;
    Union::new_weighted(vec![
        (
            10,
            (kind(), b())
                .prop_map(|(kind, slot)| Op::New { kind, slot })
                .boxed(),
        ),
        (
            4,
            (vec(kind(), 1..=MAX_RING), b())
                .prop_map(|(kinds, slot)| Op::Ring { kinds, slot })
                .boxed(),
        ),
        (
            12,
            (b(), b())
                .prop_map(|(from, to)| Op::Link { from, to })
                .boxed(),
        ),
        (
            5,
            (b(), b())
                .prop_map(|(from, idx)| Op::Unlink { from, idx })
                .boxed(),
        ),
        (
            5,
            (b(), b())
                .prop_map(|(node, slot)| Op::Root { node, slot })
                .boxed(),
        ),
        (8, b().prop_map(Op::DropRoot).boxed()),
        (
            3,
            (b(), b())
                .prop_map(|(node, weak)| Op::Downgrade { node, weak })
                .boxed(),
        ),
        (
            3,
            (b(), b())
                .prop_map(|(weak, slot)| Op::Upgrade { weak, slot })
                .boxed(),
        ),
        (1, b().prop_map(Op::DropWeak).boxed()),
        (
            4,
            (b(), u_act())
                .prop_map(|(node, act)| Op::Arm { node, act })
                .boxed(),
        ),
        (5, Just(Op::Collect).boxed()),
        (6, b().prop_map(Op::CollectGen).boxed()),
        (
            1,
            (t0(), 1u8..=4, 1u8..=4)
                .prop_map(|(a, b, c)| Op::SetThreshold(a, b, c))
                .boxed(),
        ),
        (1, Just(Op::Freeze).boxed()),
        (1, Just(Op::Unfreeze).boxed()),
    ])
}

/// Programs; a third of them have only trusted nodes (every collection's
/// set is entered lazily to the end).
pub fn program() -> impl Strategy<Value = Program> {
    (0u8..3, (t0(), 1u8..=4, 1u8..=4), vec(op(), 1..=MAX_OPS)).prop_map(
        |(mix, threshold, mut ops)| {
            if mix == 0 {
                for op in &mut ops {
                    trusted_only(op);
                }
            }
            Program { threshold, ops }
        },
    )
}

fn trusted_only(op: &mut Op) {
    let fix = |k: &mut Kind| {
        if *k == Kind::U {
            *k = Kind::T;
        }
    };
    match op {
        Op::New { kind, .. } => fix(kind),
        Op::Ring { kinds, .. } => kinds.iter_mut().for_each(fix),
        _ => {}
    }
}

/// Programs the property shrank to with bugs planted in the lazy path
/// (each fails with its bug, and passes without):
///
/// 1. the fall-back not taking anew the scratch counts of the members the
///    lazy attempt entered: edges counted twice (garbage kept, as an edge
///    reported too often), or a member held from outside the set freed;
/// 2. an edge entering a member of generation 1 or 2 at its list index,
///    without its generation's start in the set (the I4 check panics);
/// 3. the lazy loop tracing an untrusted member instead of starting over:
///    its trace allocates (a new object in generation 0 is taken for a
///    member), or drops the only handle to a member not entered yet (which
///    is then freed in the middle of the analysis).
#[must_use]
pub fn planted_bug_programs() -> Vec<Program> {
    use Kind::{B as Big, T as Small, U as Untrusted};
    let new = |kind, slot| Op::New { kind, slot };
    let ring = |kinds: &[Kind]| Op::Ring {
        kinds: kinds.to_vec(),
        slot: 0,
    };
    let link = |from, to| Op::Link { from, to };
    let arm = |act| Op::Arm { node: 0, act };
    let programs = [
        // 1: the ring is garbage at the end; the edge from the `T` to the
        // `U` is counted by the lazy attempt and again.
        ((0, 1, 1), vec![ring(&[Small, Untrusted])]),
        // 1: `b` (node 1, a self-cycle) is held by `o` (node 0) in
        // generation 1, outside the set of `collect_generation(0)`.
        (
            (0, 1, 1),
            vec![
                new(Small, 0),
                Op::CollectGen(0),
                new(Small, 1),
                link(1, 1),
                link(0, 1),
                new(Untrusted, 2),
                Op::DropRoot(1),
                Op::CollectGen(0),
            ],
        ),
        // 2: a ring in generation 1 behind a node of generation 0.
        (
            (0, 1, 1),
            vec![
                ring(&[Small, Small]),
                Op::CollectGen(0),
                new(Small, 0),
                Op::Collect,
            ],
        ),
        // 2: automatic steps move part of the ring to generation 2, where
        // the `B`s are listed.
        (
            (0, 1, 1),
            vec![
                Op::SetThreshold(1, 1, 1),
                ring(&[[Small; 9].as_slice(), &[Big; 2], &[Small; 6]].concat()),
            ],
        ),
        // 3: the `U` allocates in its trace.
        (
            (0, 1, 1),
            vec![
                new(Untrusted, 0),
                new(Small, 1),
                arm(UAct::Alloc),
                Op::Collect,
            ],
        ),
        // 3: the `U` drops the only handle to the `T` after it.
        (
            (200, 1, 1),
            vec![ring(&[Untrusted, Small]), arm(UAct::Pop), new(Small, 0)],
        ),
    ];
    programs
        .into_iter()
        .map(|(threshold, ops)| Program { threshold, ops })
        .collect()
}
