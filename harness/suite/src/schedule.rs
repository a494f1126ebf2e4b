//! Which run next: a list scheduler over the plan's dependencies (a distilling run waits for
//! its teacher's run), longest critical path first, so that long chains start early and the
//! makespan on N workers is short. The same queue drives `harbench run --jobs N` and the
//! makespan estimate of `--dry-run --jobs N`.

/// A run to schedule: its estimated seconds and the task it must wait for.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub seconds: f64,
    /// Index of the task whose result this one needs (a teacher), if it is scheduled too.
    pub after: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    Running,
    Done,
    Failed,
    /// Its dependency failed: it will not run.
    Blocked,
}

/// The tasks' states; hands out ready tasks, highest priority first.
#[derive(Debug, Clone)]
pub struct Queue {
    tasks: Vec<Task>,
    priority: Vec<f64>,
    state: Vec<State>,
}

/// Each task's own time plus the longest chain of tasks waiting for it (its "bottom level"):
/// the classic list-scheduling priority.
pub fn priorities(tasks: &[Task]) -> Vec<f64> {
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); tasks.len()];
    for (i, t) in tasks.iter().enumerate() {
        if let Some(d) = t.after {
            dependents[d].push(i);
        }
    }
    let mut memo: Vec<Option<f64>> = vec![None; tasks.len()];
    fn level(i: usize, tasks: &[Task], dependents: &[Vec<usize>], memo: &mut Vec<Option<f64>>) -> f64 {
        if let Some(v) = memo[i] {
            return v;
        }
        let below = dependents[i].iter().map(|&d| level(d, tasks, dependents, memo)).fold(0.0, f64::max);
        let v = tasks[i].seconds + below;
        memo[i] = Some(v);
        v
    }
    (0..tasks.len()).map(|i| level(i, tasks, &dependents, &mut memo)).collect()
}

impl Queue {
    /// Panics when a task waits for itself or for a task that does not exist (a bug of the caller).
    pub fn new(tasks: Vec<Task>) -> Queue {
        for (i, t) in tasks.iter().enumerate() {
            assert!(t.after.is_none_or(|d| d < tasks.len() && d != i), "task {i} waits for a task that cannot run before it");
        }
        let priority = priorities(&tasks);
        let state = vec![State::Waiting; tasks.len()];
        Queue { tasks, priority, state }
    }

    fn ready(&self, i: usize) -> bool {
        self.state[i] == State::Waiting && self.tasks[i].after.is_none_or(|d| self.state[d] == State::Done)
    }

    /// The ready task of highest priority (the first in plan order among equals), now running.
    pub fn start_next(&mut self) -> Option<usize> {
        let best = (0..self.tasks.len()).filter(|&i| self.ready(i)).fold(None, |best: Option<usize>, i| match best {
            Some(b) if self.priority[b] >= self.priority[i] => Some(b),
            _ => Some(i),
        })?;
        self.state[best] = State::Running;
        Some(best)
    }

    /// Records the end of task `i`. When it failed, the tasks that wait for it (directly or not)
    /// are blocked and returned.
    pub fn finish(&mut self, i: usize, ok: bool) -> Vec<usize> {
        self.state[i] = if ok { State::Done } else { State::Failed };
        if ok {
            return Vec::new();
        }
        let mut blocked = Vec::new();
        let mut frontier = vec![i];
        while let Some(f) = frontier.pop() {
            for j in 0..self.tasks.len() {
                if self.tasks[j].after == Some(f) && self.state[j] == State::Waiting {
                    self.state[j] = State::Blocked;
                    blocked.push(j);
                    frontier.push(j);
                }
            }
        }
        blocked.sort_unstable();
        blocked
    }

    /// Tasks neither finished nor blocked.
    pub fn unfinished(&self) -> usize {
        self.state.iter().filter(|s| matches!(s, State::Waiting | State::Running)).count()
    }
}

/// The simulated wall time of `tasks` on `workers` workers, with the queue's order.
pub fn makespan(tasks: &[Task], workers: usize) -> f64 {
    assert!(workers > 0, "at least one worker");
    let mut queue = Queue::new(tasks.to_vec());
    let mut running: Vec<(f64, usize)> = Vec::new();
    let mut now = 0.0;
    loop {
        while running.len() < workers {
            match queue.start_next() {
                Some(i) => running.push((now + tasks[i].seconds, i)),
                None => break,
            }
        }
        // The earliest to end (ties: the lowest task, for a deterministic order).
        let Some(pos) = (0..running.len()).min_by(|&a, &b| running[a].partial_cmp(&running[b]).expect("finite times")) else {
            return now;
        };
        let (end, i) = running.swap_remove(pos);
        now = end;
        queue.finish(i, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(seconds: f64, after: Option<usize>) -> Task {
        Task { seconds, after }
    }

    #[test]
    fn priority_is_the_longest_chain_below_a_task() {
        // 0 (teacher, 10 s) → 1 (5 s), 2 (7 s); 3 alone (12 s).
        let tasks = [task(10.0, None), task(5.0, Some(0)), task(7.0, Some(0)), task(12.0, None)];
        assert_eq!(priorities(&tasks), vec![17.0, 5.0, 7.0, 12.0]);
    }

    #[test]
    fn the_queue_starts_long_chains_first_and_waits_for_dependencies() {
        let mut q = Queue::new(vec![task(10.0, None), task(5.0, Some(0)), task(7.0, Some(0)), task(12.0, None)]);
        assert_eq!(q.start_next(), Some(0));
        assert_eq!(q.start_next(), Some(3));
        assert_eq!(q.start_next(), None, "1 and 2 wait for 0");
        assert!(q.finish(0, true).is_empty());
        assert_eq!(q.start_next(), Some(2));
        assert_eq!(q.start_next(), Some(1));
        assert_eq!(q.unfinished(), 3);
    }

    #[test]
    fn a_failed_task_blocks_what_waits_for_it() {
        let mut q = Queue::new(vec![task(1.0, None), task(1.0, Some(0)), task(1.0, Some(1)), task(1.0, None)]);
        assert_eq!(q.start_next(), Some(0));
        assert_eq!(q.finish(0, false), vec![1, 2]);
        assert_eq!(q.start_next(), Some(3));
        q.finish(3, true);
        assert_eq!(q.start_next(), None);
        assert_eq!(q.unfinished(), 0);
    }

    #[test]
    fn makespan_by_hand() {
        // One worker: the sum. Two: 0 then {2, 1} on one worker, 3 on the other:
        // worker A: 0 [0,10], 2 [10,17]; worker B: 3 [0,12], 1 [12,17] → 17.
        let tasks = [task(10.0, None), task(5.0, Some(0)), task(7.0, Some(0)), task(12.0, None)];
        assert_eq!(makespan(&tasks, 1), 34.0);
        assert_eq!(makespan(&tasks, 2), 17.0);
        // Unlimited workers: the critical path.
        assert_eq!(makespan(&tasks, 64), 17.0);
        assert_eq!(makespan(&[], 4), 0.0);
        // Longest first beats plan order: 3 tasks of 1, 1, 2 s on 2 workers take 2 s, not 3.
        assert_eq!(makespan(&[task(1.0, None), task(1.0, None), task(2.0, None)], 2), 2.0);
    }
}
