//! Used by both isolation suites (`crates/db/tests/isolation_model.rs` and
//! `crates/api/tests/isolation_model_http.rs`), which replay hundreds of
//! random operations per case: shrinking that keeps every operation and
//! only simplifies each (`proptest::collection::vec` at a fixed length)
//! leaves a failure report as long as the case.

use proptest::strategy::{NewTree, Strategy, ValueTree};
use proptest::test_runner::TestRunner;

/// `len` operations drawn from `element`; see [`Sequence`].
pub fn sequence<S: Strategy>(element: S, len: usize) -> Sequence<S> {
    Sequence { element, len }
}

/// `len` operations that shrink like delta debugging: first drop halves,
/// then quarters, ... then single operations (a failing replay that stops at
/// its first disagreement loses the tail after it in the first round), then
/// simplify each operation left. `proptest::collection::vec` drops one
/// element per replay, and none at all at a fixed length: a failure at step
/// 350 of 400 took it more than a 300 s shrink budget.
///
/// The value keeps every position: `None` where shrinking dropped the
/// operation, so a step keeps its number (and anything derived from it, such
/// as a generated name) from the original case to the minimal one.
#[derive(Debug)]
pub struct Sequence<S> {
    element: S,
    len: usize,
}

impl<S: Strategy> Strategy for Sequence<S> {
    type Tree = SequenceTree<S::Tree>;
    type Value = Vec<Option<S::Value>>;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        let elements = (0..self.len)
            .map(|_| self.element.new_tree(runner))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SequenceTree {
            elements,
            kept: vec![true; self.len],
            failing: vec![true; self.len],
            phase: Phase::Drop {
                size: (self.len / 2).max(1),
                next: 0,
                dropped: 0,
            },
        })
    }
}

enum Phase {
    /// Dropping `size` kept elements at a time; `next` is the position
    /// (among the kept ones) of the next chunk, `dropped` the size of the
    /// chunk the current value lacks.
    Drop {
        size: usize,
        next: usize,
        dropped: usize,
    },
    /// Simplifying the kept element at `index`.
    Simplify { index: usize },
}

/// The value tree of [`Sequence`].
pub struct SequenceTree<T> {
    elements: Vec<T>,
    /// The current value's elements.
    kept: Vec<bool>,
    /// The last value known to fail.
    failing: Vec<bool>,
    phase: Phase,
}

impl<T: ValueTree> SequenceTree<T> {
    /// Move to the next simpler value after the last one known to fail.
    fn next_candidate(&mut self) -> bool {
        loop {
            match &mut self.phase {
                Phase::Drop { size: 0, .. } => self.phase = Phase::Simplify { index: 0 },
                Phase::Drop {
                    size,
                    next,
                    dropped,
                } => {
                    let kept: Vec<usize> = (0..self.failing.len())
                        .filter(|&i| self.failing[i])
                        .collect();
                    if *next >= kept.len() {
                        (*size, *next) = (*size / 2, 0);
                        continue;
                    }
                    let end = (*next + *size).min(kept.len());
                    for &i in &kept[*next..end] {
                        self.kept[i] = false;
                    }
                    (*dropped, *next) = (end - *next, end);
                    return true;
                }
                Phase::Simplify { index } => {
                    while *index < self.elements.len() {
                        if self.kept[*index] && self.elements[*index].simplify() {
                            return true;
                        }
                        *index += 1;
                    }
                    return false;
                }
            }
        }
    }
}

impl<T: ValueTree> ValueTree for SequenceTree<T> {
    type Value = Vec<Option<T::Value>>;

    fn current(&self) -> Self::Value {
        self.elements
            .iter()
            .zip(&self.kept)
            .map(|(element, kept)| kept.then(|| element.current()))
            .collect()
    }

    /// The current value fails: keep it, try something simpler.
    fn simplify(&mut self) -> bool {
        if let Phase::Drop { next, dropped, .. } = &mut self.phase {
            // The chunk is gone: the next one starts where it started.
            (*next, *dropped) = (*next - *dropped, 0);
        }
        self.failing.clone_from(&self.kept);
        self.next_candidate()
    }

    /// The current value passes: back to the last failing one, try the next.
    fn complicate(&mut self) -> bool {
        match self.phase {
            Phase::Drop { .. } => {
                self.kept.clone_from(&self.failing);
                if let Phase::Drop { dropped, .. } = &mut self.phase {
                    *dropped = 0;
                }
                self.next_candidate() || {
                    // Nothing left to try: stay on the failing value.
                    self.kept.clone_from(&self.failing);
                    false
                }
            }
            Phase::Simplify { index } => self.elements[index].complicate(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use proptest::prop_assert;
    use proptest::test_runner::{Config, RngSeed, TestError, TestRunner};

    use super::sequence;

    /// A failure that needs two of 400 elements shrinks to exactly those
    /// two, each at its simplest.
    #[test]
    fn sequences_shrink_to_the_elements_that_matter() {
        let mut runner = TestRunner::new(Config {
            failure_persistence: None,
            rng_seed: RngSeed::Fixed(7),
            ..Config::default()
        });
        let replays = Cell::new(0u32);
        let result = runner.run(&sequence(0u32..100, 400), |values| {
            replays.set(replays.get() + 1);
            let big = values.iter().flatten().filter(|v| **v >= 90).count();
            prop_assert!(big < 2);
            Ok(())
        });
        let Err(TestError::Fail(_, minimal)) = result else {
            panic!("expected a failure, got {result:?}");
        };
        let kept: Vec<u32> = minimal.into_iter().flatten().collect();
        assert_eq!(kept, [90, 90]);
        // Delta debugging: far fewer replays than one per element.
        assert!(replays.get() < 100, "{} replays", replays.get());
    }
}
