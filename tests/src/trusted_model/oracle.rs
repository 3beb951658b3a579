//! The model: the graph of node ids and the roots, reachability, strong
//! counts, what reference counting frees and what trial deletion finds.

use std::collections::VecDeque;

use super::SLOTS;
use super::nodes::Kind;

pub(super) struct MNode {
    pub(super) kind: Kind,
    /// Its edges, in order (kept after it is dropped, for the expectations
    /// of the step that dropped it).
    pub(super) edges: Vec<usize>,
    pub(super) dropped: bool,
}

#[derive(Default)]
pub(super) struct Model {
    pub(super) nodes: Vec<MNode>,
    pub(super) roots: [Option<usize>; SLOTS],
}

impl Model {
    pub(super) fn alive(&self) -> Vec<bool> {
        self.nodes.iter().map(|n| !n.dropped).collect()
    }

    /// The nodes `from` and what they reach through the edges of `alive`
    /// nodes.
    fn reach(&self, alive: &[bool], from: &[usize]) -> Vec<bool> {
        let mut seen = vec![false; self.nodes.len()];
        let mut stack = Vec::new();
        for &i in from {
            if !seen[i] {
                seen[i] = true;
                stack.push(i);
            }
        }
        while let Some(i) = stack.pop() {
            if !alive[i] {
                continue;
            }
            for &t in &self.nodes[i].edges {
                if !seen[t] {
                    seen[t] = true;
                    stack.push(t);
                }
            }
        }
        seen
    }

    fn root_ids(&self) -> Vec<usize> {
        self.roots.iter().flatten().copied().collect()
    }

    /// The nodes reachable from the roots, in id order.
    pub(super) fn reachable(&self) -> Vec<usize> {
        let seen = self.reach(&self.alive(), &self.root_ids());
        (0..seen.len()).filter(|&i| seen[i]).collect()
    }

    /// The root slot and edge indices of a path from a root to `id`.
    pub(super) fn path_to(&self, id: usize) -> Option<(usize, Vec<usize>)> {
        let alive = self.alive();
        // A breadth-first search, so that paths are short.
        let mut via: Vec<Option<(usize, usize)>> = vec![None; self.nodes.len()];
        let mut root_of: Vec<Option<usize>> = vec![None; self.nodes.len()];
        let mut queue = VecDeque::new();
        for (s, r) in self.roots.iter().enumerate() {
            if let Some(r) = *r
                && root_of[r].is_none()
                && via[r].is_none()
            {
                root_of[r] = Some(s);
                queue.push_back(r);
            }
        }
        while let Some(i) = queue.pop_front() {
            if i == id {
                break;
            }
            if !alive[i] {
                continue;
            }
            for (k, &t) in self.nodes[i].edges.iter().enumerate() {
                if root_of[t].is_none() && via[t].is_none() {
                    via[t] = Some((i, k));
                    queue.push_back(t);
                }
            }
        }
        let mut path = Vec::new();
        let mut at = id;
        loop {
            if let Some(s) = root_of[at] {
                path.reverse();
                return Some((s, path));
            }
            let (p, k) = via[at]?;
            path.push(k);
            at = p;
        }
    }

    /// Strong counts: root handles plus edges from the `alive` nodes.
    pub(super) fn counts(&self, alive: &[bool]) -> Vec<usize> {
        let mut c = vec![0; self.nodes.len()];
        for r in self.root_ids() {
            c[r] += 1;
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if alive[i] {
                for &t in &n.edges {
                    c[t] += 1;
                }
            }
        }
        c
    }

    /// Reference counting: takes out of `alive` every node whose count
    /// falls to zero.
    pub(super) fn cascade(&self, alive: &mut [bool]) {
        let mut c = self.counts(alive);
        let mut stack: Vec<usize> = (0..alive.len())
            .filter(|&i| alive[i] && c[i] == 0)
            .collect();
        while let Some(i) = stack.pop() {
            if !alive[i] {
                continue;
            }
            alive[i] = false;
            for &t in &self.nodes[i].edges {
                c[t] -= 1;
                if alive[t] && c[t] == 0 {
                    stack.push(t);
                }
            }
        }
    }

    /// Trial deletion over the `alive` nodes `in_set`: the members that
    /// neither a root nor an alive node outside the set reaches.
    pub(super) fn garbage(&self, alive: &[bool], in_set: &[bool]) -> Vec<bool> {
        let mut from = self.root_ids();
        from.extend((0..alive.len()).filter(|&i| alive[i] && !in_set[i]));
        let seen = self.reach(alive, &from);
        (0..alive.len()).map(|i| in_set[i] && !seen[i]).collect()
    }
}

pub(super) fn err<T>(msg: impl Into<String>) -> Result<T, String> {
    Err(msg.into())
}

/// The ids set in `v`.
pub(super) fn ids(v: &[bool]) -> Vec<usize> {
    (0..v.len()).filter(|&i| v[i]).collect()
}
