//! C3 linearization (Python's MRO) and the graph walks resolution needs. All
//! of them are iterative: a 20,000-deep chain must not overflow the stack.

use super::Node;

/// No lineage order respects every declaration's order of parents (C3 fails).
#[derive(Debug)]
pub struct NoOrder;

/// The longest lineage accepted; deeper chains are reported, not compiled.
pub const MAX_LINEAGE: usize = 1000;

/// `[id] + merge(parent MROs..., parents)`, or `Err` when no consistent order exists.
pub fn linearize(id: Node, parents: &[Node], mut seqs: Vec<Vec<Node>>) -> Result<Vec<Node>, NoOrder> {
    // One parent (the common case): the merge is the parent's order itself.
    // Taking it directly keeps a deep chain linear instead of quadratic.
    if let ([_], [parent_mro]) = (parents, seqs.as_slice()) {
        let mut out = Vec::with_capacity(parent_mro.len().min(MAX_LINEAGE + 1) + 1);
        out.push(id);
        out.extend(parent_mro.iter().take(MAX_LINEAGE + 1));
        return Ok(out);
    }
    seqs.push(parents.to_vec());
    // Each sequence is consumed from the front; keep cursors instead of shifting.
    let mut cursors = vec![0usize; seqs.len()];
    let mut out = vec![id];
    loop {
        let heads: Vec<Node> = seqs.iter().zip(&cursors).filter_map(|(s, &c)| s.get(c).copied()).collect();
        if heads.is_empty() {
            return Ok(out);
        }
        let in_tail = |candidate: Node| {
            seqs.iter().zip(&cursors).any(|(s, &c)| s.get(c + 1..).is_some_and(|t| t.contains(&candidate)))
        };
        let Some(&next) = heads.iter().find(|&&h| !in_tail(h)) else {
            return Err(NoOrder);
        };
        out.push(next);
        for (s, c) in seqs.iter().zip(cursors.iter_mut()) {
            if s.get(*c) == Some(&next) {
                *c += 1;
            }
        }
        if out.len() > MAX_LINEAGE + 1 {
            return Ok(out);
        }
    }
}

/// Every elementary cycle reachable in the graph, each once, as found by an
/// iterative depth-first search (members in path order).
pub fn find_cycles(parents: &[Vec<Node>]) -> Vec<Vec<Node>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Color {
        White,
        Grey,
        Black,
    }
    let n = parents.len();
    let mut color = vec![Color::White; n];
    let mut cycles = Vec::new();
    for root in 0..n {
        if color.get(root) != Some(&Color::White) {
            continue;
        }
        // Stack of (node, next edge index); `path` mirrors the grey nodes.
        let mut stack: Vec<(Node, usize)> = vec![(root, 0)];
        if let Some(c) = color.get_mut(root) {
            *c = Color::Grey;
        }
        while let Some(&mut (node, ref mut edge)) = stack.last_mut() {
            let next = parents.get(node).and_then(|p| p.get(*edge)).copied();
            *edge += 1;
            match next {
                None => {
                    if let Some(c) = color.get_mut(node) {
                        *c = Color::Black;
                    }
                    stack.pop();
                }
                Some(p) => match color.get(p).copied() {
                    Some(Color::White) => {
                        if let Some(c) = color.get_mut(p) {
                            *c = Color::Grey;
                        }
                        stack.push((p, 0));
                    }
                    Some(Color::Grey) => {
                        let from = stack.iter().position(|(s, _)| *s == p).unwrap_or(0);
                        cycles.push(stack.get(from..).unwrap_or_default().iter().map(|(s, _)| *s).collect());
                    }
                    _ => {}
                },
            }
        }
    }
    cycles
}

/// Nodes ordered so that every parent comes before its children (nodes on
/// cycles come in some order; they are skipped by the caller).
pub fn topological(parents: &[Vec<Node>]) -> Vec<Node> {
    let n = parents.len();
    let mut done = vec![false; n];
    let mut on_stack = vec![false; n];
    let mut order = Vec::with_capacity(n);
    for root in 0..n {
        if done.get(root).copied().unwrap_or(true) {
            continue;
        }
        let mut stack: Vec<(Node, usize)> = vec![(root, 0)];
        if let Some(s) = on_stack.get_mut(root) {
            *s = true;
        }
        while let Some(&mut (node, ref mut edge)) = stack.last_mut() {
            let next = parents.get(node).and_then(|p| p.get(*edge)).copied();
            *edge += 1;
            match next {
                Some(p) if !done.get(p).copied().unwrap_or(true) && !on_stack.get(p).copied().unwrap_or(true) => {
                    if let Some(s) = on_stack.get_mut(p) {
                        *s = true;
                    }
                    stack.push((p, 0));
                }
                Some(_) => {}
                None => {
                    stack.pop();
                    if let Some(d) = done.get_mut(node) {
                        *d = true;
                    }
                    order.push(node);
                }
            }
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diamond_matches_python() {
        // a=0, b=1 (inherits a), c=2 (inherits a), d=3 (inherits b, c)
        let a = linearize(0, &[], vec![]).expect("a");
        let b = linearize(1, &[0], vec![a.clone()]).expect("b");
        let c = linearize(2, &[0], vec![a]).expect("c");
        let d = linearize(3, &[1, 2], vec![b, c]).expect("d");
        assert_eq!(d, vec![3, 1, 2, 0]);
    }

    #[test]
    fn inconsistent_order_is_an_error() {
        // x(2) inherits a(0), b(1); y(3) inherits b, a; z inherits x, y.
        let a = vec![0];
        let b = vec![1];
        let x = linearize(2, &[0, 1], vec![a.clone(), b.clone()]).expect("x");
        let y = linearize(3, &[1, 0], vec![b, a]).expect("y");
        assert!(linearize(4, &[2, 3], vec![x, y]).is_err());
    }

    #[test]
    fn cycles_and_order() {
        let parents = vec![vec![1], vec![0], vec![], vec![2]];
        let cycles = find_cycles(&parents);
        assert_eq!(cycles.len(), 1);
        let order = topological(&parents);
        let pos = |x| order.iter().position(|&o| o == x).expect("present");
        assert!(pos(2) < pos(3));
    }

    #[test]
    fn deep_chain_does_not_recurse() {
        let n = 50_000;
        let parents: Vec<Vec<usize>> = (0..n).map(|i| if i == 0 { vec![] } else { vec![i - 1] }).collect();
        assert_eq!(topological(&parents).len(), n);
        assert!(find_cycles(&parents).is_empty());
    }
}
