//! Overlapping extraction and loading, phase by phase.
//!
//! Extraction walks the phases in order, several objects at a time (the next phase's
//! objects start as slots free, without waiting for the slowest of the phase); it never
//! waits for loading, so Salesforce is read while the destination is written. Loading
//! takes the chunks as they are staged, several at a time, but only loads a chunk of phase
//! `p` once every chunk of the phases before `p` has loaded: a record's parents are then in
//! the ID map when it loads, and only links within a phase (an account's parent account)
//! or across a cycle are deferred to the finalize step.
//!
//! The messages between the two sides are chunk messages (a staging key and a count), not
//! records, so holding the ones that wait for an earlier phase costs next to nothing.

use crate::error::PortError;
use crate::ports::{ChunkMessage, WorkQueue};
use crate::steps::StepError;
use async_trait::async_trait;
use futures::channel::mpsc;
use futures::stream::{FuturesUnordered, StreamExt};
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How much runs at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Concurrency {
    /// Objects of one phase extracted at a time. The Salesforce client bounds its requests
    /// in flight on its own; this bounds the Bulk jobs and cursors open at once.
    pub extract: usize,
    /// Chunks loaded at a time. Loading a chunk is mostly CPU (parse, transform, hash)
    /// and the destination's write, and each chunk in flight holds its records in memory
    /// twice over (transformed, and as sent), so more chunks than cores buy nothing but
    /// memory.
    pub load: usize,
}

impl Default for Concurrency {
    /// Two objects extracted at a time; a chunk loaded per core, from two to four.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |cores| cores.get());
        Self {
            extract: 2,
            load: cores.clamp(2, 4),
        }
    }
}

enum Event {
    Chunk(ChunkMessage),
    /// Every object of this phase is extracted: no more chunks of it will come.
    PhaseExtracted(usize),
}

/// The work queue extraction writes to inside [`run`]: each staged chunk goes straight to
/// the loading side.
#[derive(Clone)]
pub struct ChannelQueue {
    sender: mpsc::UnboundedSender<Event>,
}

#[async_trait]
impl WorkQueue for ChannelQueue {
    async fn send(&self, message: &ChunkMessage) -> Result<(), PortError> {
        self.sender
            .unbounded_send(Event::Chunk(message.clone()))
            .map_err(|_| {
                PortError::new(
                    crate::ErrorClass::Permanent,
                    "the loading side stopped before extraction finished".to_owned(),
                )
            })
    }
}

/// Splits the objects to extract into the long poles (those `long_pole` weighs, heaviest
/// first) and the rest, in phase order.
fn split_long_poles<T>(
    pending: Vec<(usize, Option<u64>, T)>,
) -> (
    std::sync::Mutex<VecDeque<(usize, T)>>,
    std::sync::Mutex<VecDeque<(usize, T)>>,
) {
    let mut early = Vec::new();
    let mut ordered = VecDeque::new();
    for (phase, weight, item) in pending {
        match weight {
            Some(weight) => early.push((weight, phase, item)),
            None => ordered.push_back((phase, item)),
        }
    }
    // Stable: equal weights keep phase order.
    early.sort_by(|a, b| b.0.cmp(&a.0));
    let early = early
        .into_iter()
        .map(|(_, phase, item)| (phase, item))
        .collect();
    (std::sync::Mutex::new(early), std::sync::Mutex::new(ordered))
}

fn pop<T>(queue: &std::sync::Mutex<VecDeque<T>>) -> Option<T> {
    queue.lock().ok().and_then(|mut queue| queue.pop_front())
}

/// Runs `extract` for every object of `phases` (in phase order) and `load` for every chunk
/// the extraction sends to the [`ChannelQueue`] it is given, overlapping the two as the
/// module documentation says. Objects `long_pole` weighs (those with files to download,
/// whose extraction takes longest) are started first, heaviest first, by one of the
/// `concurrency.extract` slots, while the others walk the phases in order: the longest
/// extraction then overlaps the rest instead of ending the run. `phase_of` says which
/// phase a chunk belongs to;
/// `phase_started` is called as extraction starts a phase, and `phase_loaded` once every
/// chunk of a phase has loaded, before any chunk of the next one starts. The first error
/// stops both sides and is returned.
pub async fn run<'a, O, E, EF, L, LF, P, PF>(
    phases: &'a [Vec<O>],
    concurrency: Concurrency,
    long_pole: impl Fn(&O) -> Option<u64>,
    phase_of: impl Fn(&ChunkMessage) -> Option<usize>,
    phase_started: impl Fn(usize),
    extract: E,
    load: L,
    phase_loaded: P,
) -> Result<(), StepError>
where
    E: Fn(&'a O, ChannelQueue) -> EF,
    EF: Future<Output = Result<(), StepError>>,
    L: Fn(ChunkMessage) -> LF,
    LF: Future<Output = Result<(), StepError>>,
    P: Fn(usize) -> PF,
    PF: Future<Output = Result<(), StepError>>,
{
    let (sender, receiver) = mpsc::unbounded();
    let queue = ChannelQueue { sender };
    let extracting = async {
        // Objects in phase order, `concurrency.extract` at a time across phase boundaries:
        // a phase's slowest object (files to download) does not hold back the next phase's
        // extraction. A phase is announced as its first object starts (an empty one as
        // extraction passes it) and reported extracted once all of its objects are.
        let announced = AtomicUsize::new(0);
        let announce_through = |phase: usize| {
            loop {
                let next = announced.load(Ordering::SeqCst);
                if next > phase || next >= phases.len() {
                    break;
                }
                if announced
                    .compare_exchange(next, next + 1, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    phase_started(next);
                }
            }
        };
        let left: Vec<usize> = phases.iter().map(Vec::len).collect();
        let reported = vec![false; phases.len()];
        let report = |left: &[usize], reported: &mut [bool]| {
            let announced = announced.load(Ordering::SeqCst);
            for (phase, done) in reported.iter_mut().enumerate().take(announced) {
                if left.get(phase) == Some(&0) && !*done {
                    *done = true;
                    // Cannot fail while the loading side runs; if it stopped, its error wins.
                    let _ = queue.sender.unbounded_send(Event::PhaseExtracted(phase));
                }
            }
        };
        // The futures are made up front (they do nothing until polled): a closure over
        // the stream's items would be higher-ranked over their lifetime, which defeats
        // the compiler's `Send` check of the caller's future.
        let pending: Vec<(usize, Option<u64>, EF)> = phases
            .iter()
            .enumerate()
            .flat_map(|(phase, objects)| objects.iter().map(move |object: &'a O| (phase, object)))
            .map(|(phase, object)| (phase, long_pole(object), extract(object, queue.clone())))
            .collect();
        let (early, ordered) = split_long_poles(pending);
        let left = std::sync::Mutex::new(left);
        let reported = std::sync::Mutex::new(reported);
        let announce = &announce_through;
        let report = &report;
        let (early, ordered, left, reported) = (&early, &ordered, &left, &reported);
        let worker = |takes_long_poles: bool| async move {
            loop {
                let next = if takes_long_poles {
                    pop(early).or_else(|| pop(ordered))
                } else {
                    pop(ordered).or_else(|| pop(early))
                };
                let Some((phase, future)) = next else {
                    return Ok::<(), StepError>(());
                };
                announce(phase);
                future.await?;
                let (Ok(mut left), Ok(mut reported)) = (left.lock(), reported.lock()) else {
                    return Err(StepError::Queue(PortError::permanent(
                        "the extraction schedule's bookkeeping was poisoned".to_owned(),
                    )));
                };
                if let Some(left) = left.get_mut(phase) {
                    *left = left.saturating_sub(1);
                }
                report(&left, &mut reported);
            }
        };
        let slots = concurrency.extract.max(1);
        futures::future::try_join_all((0..slots).map(|slot| worker(slot == 0))).await?;
        let (left, mut reported) = (
            left.lock().map(|left| left.clone()).unwrap_or_default(),
            reported
                .lock()
                .map(|reported| reported.clone())
                .unwrap_or_default(),
        );
        announce_through(phases.len().saturating_sub(1));
        report(&left, &mut reported);
        Ok::<(), StepError>(())
    };
    let loading = async {
        let mut receiver = receiver;
        let mut waiting: BTreeMap<usize, Vec<ChunkMessage>> = BTreeMap::new();
        let mut extracted = vec![false; phases.len()];
        let mut in_flight = FuturesUnordered::new();
        let mut current = 0;
        while current < phases.len() {
            // Start what may start: chunks of the current phase, up to the limit.
            while in_flight.len() < concurrency.load.max(1) {
                let Some(message) = waiting.get_mut(&current).and_then(Vec::pop) else {
                    break;
                };
                in_flight.push(load(message));
            }
            let phase_drained = waiting.get(&current).is_none_or(Vec::is_empty);
            if extracted[current] && phase_drained && in_flight.is_empty() {
                phase_loaded(current).await?;
                current += 1;
                continue;
            }
            futures::select_biased! {
                loaded = in_flight.select_next_some() => loaded?,
                event = receiver.next() => match event {
                    Some(Event::Chunk(message)) => {
                        let phase = phase_of(&message).ok_or_else(|| StepError::UnknownObject {
                            run: message.run_id.to_string(),
                            object: message.object.clone(),
                        })?;
                        // Loaded in the order staged: the waiting list is popped from the end.
                        waiting.entry(phase).or_default().insert(0, message);
                    }
                    Some(Event::PhaseExtracted(phase)) => extracted[phase] = true,
                    // The extracting side ended early: its error is what try_join returns.
                    None => futures::future::pending::<()>().await,
                },
            }
        }
        Ok::<(), StepError>(())
    };
    futures::future::try_join(extracting, loading).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ids::{RunId, TenantId};
    use std::cell::RefCell;

    fn message(object: &str, chunk: u32) -> ChunkMessage {
        ChunkMessage {
            run_id: RunId::new("r"),
            tenant: TenantId::new("t"),
            object: object.to_owned(),
            chunk,
            key: format!("{object}/{chunk}"),
            records: 1,
        }
    }

    /// A log of what happened, in order, shared by the two sides.
    #[derive(Default)]
    struct Log(RefCell<Vec<String>>);

    fn phase_of(message: &ChunkMessage) -> Option<usize> {
        match message.object.as_str() {
            "Account" => Some(0),
            "Contact" | "Lead" => Some(1),
            "Task" => Some(2),
            _ => None,
        }
    }

    async fn yield_now() {
        let mut yielded = false;
        futures::future::poll_fn(|context| {
            if yielded {
                std::task::Poll::Ready(())
            } else {
                yielded = true;
                context.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        })
        .await;
    }

    #[test]
    fn every_chunk_loads_once_and_no_phase_loads_before_the_one_before_it_finished() {
        let phases = vec![vec!["Account"], vec!["Contact", "Lead"], vec!["Task"]];
        let log = Log::default();
        let result = futures::executor::block_on(run(
            &phases,
            Concurrency {
                extract: 2,
                load: 3,
            },
            |_| None,
            phase_of,
            |_| {},
            |object: &&str, queue: ChannelQueue| {
                let object = (*object).to_owned();
                let log = &log;
                async move {
                    for chunk in 0..4 {
                        yield_now().await;
                        queue
                            .send(&message(&object, chunk))
                            .await
                            .map_err(StepError::Queue)?;
                        log.0.borrow_mut().push(format!("staged {object} {chunk}"));
                    }
                    Ok(())
                }
            },
            |message: ChunkMessage| {
                let log = &log;
                async move {
                    log.0
                        .borrow_mut()
                        .push(format!("start {} {}", message.object, message.chunk));
                    yield_now().await;
                    yield_now().await;
                    log.0
                        .borrow_mut()
                        .push(format!("done {} {}", message.object, message.chunk));
                    Ok(())
                }
            },
            |phase| {
                let log = &log;
                async move {
                    log.0.borrow_mut().push(format!("phase {phase} loaded"));
                    Ok(())
                }
            },
        ));
        result.unwrap();
        let log = log.0.into_inner();
        let index = |entry: &str| log.iter().position(|line| line == entry).unwrap();
        for object in ["Account", "Contact", "Lead", "Task"] {
            for chunk in 0..4 {
                let started = format!("start {object} {chunk}");
                assert_eq!(
                    log.iter().filter(|line| **line == started).count(),
                    1,
                    "{log:?}"
                );
            }
        }
        // No contact or lead starts before every account is done; no task before them.
        let last_account = (0..4)
            .map(|c| index(&format!("done Account {c}")))
            .max()
            .unwrap();
        let first_child = ["Contact", "Lead"]
            .iter()
            .flat_map(|o| (0..4).map(move |c| format!("start {o} {c}")))
            .map(|entry| index(&entry))
            .min()
            .unwrap();
        assert!(last_account < first_child, "{log:?}");
        let last_child = ["Contact", "Lead"]
            .iter()
            .flat_map(|o| (0..4).map(move |c| format!("done {o} {c}")))
            .map(|entry| index(&entry))
            .max()
            .unwrap();
        let first_task = (0..4)
            .map(|c| index(&format!("start Task {c}")))
            .min()
            .unwrap();
        assert!(last_child < first_task, "{log:?}");
        // A phase is reported loaded after its last chunk and before the next phase starts.
        let phase_one_loaded = index("phase 0 loaded");
        assert!(
            last_account < phase_one_loaded && phase_one_loaded < first_child,
            "{log:?}"
        );
        assert!(index("phase 1 loaded") < first_task, "{log:?}");
        assert!(index("phase 2 loaded") == log.len() - 1, "{log:?}");
        // Extraction ran ahead of loading: a task chunk was staged before the last
        // contact or lead chunk loaded.
        let first_task_staged = (0..4)
            .map(|c| index(&format!("staged Task {c}")))
            .min()
            .unwrap();
        assert!(first_task_staged < last_child, "{log:?}");
        // Loads overlapped: some chunk started before the previous one finished.
        let overlapped = log
            .windows(2)
            .any(|pair| pair[0].starts_with("start ") && pair[1].starts_with("start "));
        assert!(overlapped, "{log:?}");
    }

    #[test]
    fn the_first_error_stops_both_sides() {
        let phases = vec![vec!["Account"], vec!["Contact"]];
        let loads = RefCell::new(0);
        let result = futures::executor::block_on(run(
            &phases,
            Concurrency::default(),
            |_| None,
            phase_of,
            |_| {},
            |object: &&str, queue: ChannelQueue| {
                let object = (*object).to_owned();
                async move {
                    for chunk in 0..3 {
                        queue
                            .send(&message(&object, chunk))
                            .await
                            .map_err(StepError::Queue)?;
                    }
                    Ok(())
                }
            },
            |message: ChunkMessage| {
                let loads = &loads;
                async move {
                    *loads.borrow_mut() += 1;
                    if message.object == "Account" && message.chunk == 1 {
                        return Err(StepError::UnknownObject {
                            run: "r".to_owned(),
                            object: "broken".to_owned(),
                        });
                    }
                    Ok(())
                }
            },
            |_| async { Ok(()) },
        ));
        assert!(
            matches!(result, Err(StepError::UnknownObject { object, .. }) if object == "broken")
        );
        assert!(*loads.borrow() <= 3);
    }

    #[test]
    fn a_chunk_of_an_object_outside_the_plan_is_an_error() {
        let phases = vec![vec!["Account"]];
        let result = futures::executor::block_on(run(
            &phases,
            Concurrency::default(),
            |_| None,
            phase_of,
            |_| {},
            |_: &&str, queue: ChannelQueue| async move {
                queue
                    .send(&message("Mystery", 0))
                    .await
                    .map_err(StepError::Queue)
            },
            |_: ChunkMessage| async { Ok(()) },
            |_| async { Ok(()) },
        ));
        assert!(
            matches!(result, Err(StepError::UnknownObject { object, .. }) if object == "Mystery")
        );
    }

    #[test]
    fn long_poles_start_first_heaviest_first_while_another_slot_walks_the_phases() {
        let phases = vec![
            vec!["Account"],
            vec!["Contact", "Attachment"],
            vec!["Task", "ContentVersion"],
        ];
        let log = Log::default();
        let result = futures::executor::block_on(run(
            &phases,
            Concurrency {
                extract: 2,
                load: 1,
            },
            |object: &&str| match *object {
                "Attachment" => Some(10),
                "ContentVersion" => Some(20),
                _ => None,
            },
            |message: &ChunkMessage| match message.object.as_str() {
                "Account" => Some(0),
                "Contact" | "Attachment" => Some(1),
                _ => Some(2),
            },
            |_| {},
            |object: &&str, _queue: ChannelQueue| {
                let object = (*object).to_owned();
                let log = &log;
                async move {
                    log.0.borrow_mut().push(format!("start {object}"));
                    yield_now().await;
                    Ok(())
                }
            },
            |_: ChunkMessage| async { Ok(()) },
            |_| async { Ok(()) },
        ));
        assert!(result.is_ok());
        let starts = log.0.into_inner();
        // Slot 0 takes the long poles, heaviest first; slot 1 the rest in phase order;
        // whichever frees first takes the next of its own queue.
        assert_eq!(starts[0], "start ContentVersion", "{starts:?}");
        assert_eq!(starts[1], "start Account", "{starts:?}");
        let position = |name: &str| {
            starts
                .iter()
                .position(|entry| entry == &format!("start {name}"))
        };
        assert!(
            position("ContentVersion") < position("Attachment"),
            "{starts:?}"
        );
        assert!(position("Account") < position("Contact"), "{starts:?}");
        assert!(position("Contact") < position("Task"), "{starts:?}");
        assert_eq!(starts.len(), 5, "{starts:?}");
    }
}
