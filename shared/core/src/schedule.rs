//! Overlapping extraction and loading, phase by phase.
//!
//! Extraction walks the phases in order, several objects at a time (the next phase's
//! objects start as slots free, without waiting for the slowest of the phase; objects
//! with files to download start first); it never waits for loading, so Salesforce is read
//! while the destination is written. Loading takes the chunks as they are staged, several
//! at a time, but only loads a chunk of an object once every object of an earlier phase
//! it links to has loaded all its chunks: a record's parents are then in the ID map when
//! it loads, and only links within a phase (an account's parent account) or across a
//! cycle are deferred to the finalize step. An object does not wait for objects it does
//! not link to, so a slow object (files) holds back only the objects that point at it.
//!
//! The messages between the two sides are chunk messages (a staging key and a count), not
//! records, so holding the ones that wait for an earlier phase costs next to nothing.

use crate::steps::StepError;
use async_trait::async_trait;
use ferry_model::error::PortError;
use ferry_model::ports::{ChunkMessage, WorkQueue};
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
    /// This object is extracted: no more chunks of it will come.
    ObjectExtracted(Slot),
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
                    ferry_model::ErrorClass::Permanent,
                    "the loading side stopped before extraction finished".to_owned(),
                )
            })
    }
}

/// Objects waiting to be extracted, with where they sit in the phases.
type ExtractQueue<T> = std::sync::Mutex<VecDeque<(Slot, T)>>;

/// Splits the objects to extract into the long poles (those `long_pole` weighs, heaviest
/// first) and the rest, in phase order.
fn split_long_poles<T>(pending: Vec<(Slot, Option<u64>, T)>) -> (ExtractQueue<T>, ExtractQueue<T>) {
    let mut early = Vec::new();
    let mut ordered = VecDeque::new();
    for (phase, weight, item) in pending {
        match weight {
            Some(weight) => early.push((weight, phase, item)),
            None => ordered.push_back((phase, item)),
        }
    }
    // Stable: equal weights keep phase order.
    early.sort_by_key(|entry| std::cmp::Reverse(entry.0));
    let early = early
        .into_iter()
        .map(|(_, phase, item)| (phase, item))
        .collect();
    (std::sync::Mutex::new(early), std::sync::Mutex::new(ordered))
}

fn pop<T>(queue: &std::sync::Mutex<VecDeque<T>>) -> Option<T> {
    queue.lock().ok().and_then(|mut queue| queue.pop_front())
}

/// Where an object sits in the phases: (phase, index within the phase).
pub type Slot = (usize, usize);

/// Runs `extract` for every object of `phases` (in phase order) and `load` for every chunk
/// the extraction sends to the [`ChannelQueue`] it is given, overlapping the two as the
/// module documentation says.
///
/// - Objects `long_pole` weighs (those with files to download, whose extraction takes
///   longest) are started first, heaviest first, by one of the `concurrency.extract`
///   slots, while the others walk the phases in order: the longest extraction then
///   overlaps the rest instead of ending the run.
/// - `slot_of` says which object a chunk belongs to. A chunk of the object at `(p, i)`
///   loads only once every object of `waits_for[p][i]` (the objects of earlier phases it
///   links to) has loaded all its chunks; ready chunks of earlier phases go first.
/// - `phase_started` is called as extraction starts a phase; `object_loaded` once an
///   object is extracted and every chunk of it has loaded, and `phase_loaded` once every
///   object of a phase has (a later phase whose objects do not wait for an earlier one may
///   finish first).
///
/// The first error stops both sides and is returned.
#[allow(clippy::too_many_arguments)]
pub async fn run<'a, O, E, EF, L, LF, P, PF>(
    phases: &'a [Vec<O>],
    concurrency: Concurrency,
    long_pole: impl Fn(&O) -> Option<u64>,
    waits_for: &[Vec<Vec<Slot>>],
    slot_of: impl Fn(&ChunkMessage) -> Option<Slot>,
    phase_started: impl Fn(usize),
    extract: E,
    load: L,
    object_loaded: impl Fn(Slot),
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
        // a phase's slowest object does not hold back the next phase's extraction. A phase
        // is announced as its first object starts (with every phase before it).
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
        // The futures are made up front (they do nothing until polled): a closure over
        // the stream's items would be higher-ranked over their lifetime, which defeats
        // the compiler's `Send` check of the caller's future.
        let pending: Vec<(Slot, Option<u64>, EF)> = phases
            .iter()
            .enumerate()
            .flat_map(|(phase, objects)| {
                objects
                    .iter()
                    .enumerate()
                    .map(move |(index, object): (usize, &'a O)| ((phase, index), object))
            })
            .map(|(slot, object)| (slot, long_pole(object), extract(object, queue.clone())))
            .collect();
        let (early, ordered) = split_long_poles(pending);
        let announce = &announce_through;
        let queue = &queue;
        let (early, ordered) = (&early, &ordered);
        let worker = |takes_long_poles: bool| async move {
            loop {
                let next = if takes_long_poles {
                    pop(early).or_else(|| pop(ordered))
                } else {
                    pop(ordered).or_else(|| pop(early))
                };
                let Some((slot, future)) = next else {
                    return Ok::<(), StepError>(());
                };
                announce(slot.0);
                future.await?;
                // Cannot fail while the loading side runs; if it stopped, its error wins.
                let _ = queue.sender.unbounded_send(Event::ObjectExtracted(slot));
            }
        };
        let slots = concurrency.extract.max(1);
        futures::future::try_join_all((0..slots).map(|slot| worker(slot == 0))).await?;
        announce_through(phases.len().saturating_sub(1));
        Ok::<(), StepError>(())
    };
    let loading = async {
        let mut receiver = receiver;
        let mut objects: Vec<Vec<ObjectLoad>> = phases
            .iter()
            .map(|objects| objects.iter().map(|_| ObjectLoad::default()).collect())
            .collect();
        let mut phases_reported = vec![false; phases.len()];
        let mut in_flight = FuturesUnordered::new();
        let ready = |objects: &[Vec<ObjectLoad>], (phase, index): Slot| {
            waits_for
                .get(phase)
                .and_then(|waits| waits.get(index))
                .is_none_or(|waits| {
                    waits.iter().all(|&(p, i)| {
                        objects
                            .get(p)
                            .and_then(|objects| objects.get(i))
                            .is_none_or(|object| object.loaded)
                    })
                })
        };
        while phases_reported.iter().any(|reported| !reported) {
            // Start what may start, earlier phases first, up to the limit.
            'start: for phase in 0..objects.len() {
                for index in 0..objects[phase].len() {
                    if objects[phase][index].waiting.is_empty() || !ready(&objects, (phase, index))
                    {
                        continue;
                    }
                    while in_flight.len() < concurrency.load.max(1) {
                        let Some(message) = objects[phase][index].waiting.pop() else {
                            break;
                        };
                        objects[phase][index].in_flight += 1;
                        let loading = load(message);
                        in_flight.push(async move { (phase, index, loading.await) });
                    }
                    if in_flight.len() >= concurrency.load.max(1) {
                        break 'start;
                    }
                }
            }
            // What has finished: objects extracted, ready, with nothing waiting or in
            // flight; then phases whose objects all have.
            let mut changed = true;
            while changed {
                changed = false;
                for phase in 0..objects.len() {
                    for index in 0..objects[phase].len() {
                        let object = &objects[phase][index];
                        if !object.loaded
                            && object.extracted
                            && object.waiting.is_empty()
                            && object.in_flight == 0
                            && ready(&objects, (phase, index))
                        {
                            objects[phase][index].loaded = true;
                            object_loaded((phase, index));
                            changed = true;
                        }
                    }
                }
            }
            let mut reported_now = false;
            for phase in 0..objects.len() {
                if !phases_reported[phase] && objects[phase].iter().all(|object| object.loaded) {
                    phases_reported[phase] = true;
                    phase_loaded(phase).await?;
                    reported_now = true;
                }
            }
            if reported_now {
                continue;
            }
            if !phases_reported.iter().any(|reported| !reported) {
                break;
            }
            futures::select_biased! {
                loaded = in_flight.select_next_some() => {
                    let (phase, index, loaded): (usize, usize, Result<(), StepError>) = loaded;
                    loaded?;
                    if let Some(object) = objects.get_mut(phase).and_then(|o| o.get_mut(index)) {
                        object.in_flight = object.in_flight.saturating_sub(1);
                    }
                }
                event = receiver.next() => match event {
                    Some(Event::Chunk(message)) => {
                        let object = slot_of(&message)
                            .and_then(|(phase, index)| {
                                objects.get_mut(phase).and_then(|o| o.get_mut(index))
                            })
                            .ok_or_else(|| StepError::UnknownObject {
                                run: message.run_id.to_string(),
                                object: message.object.clone(),
                            })?;
                        // Loaded in the order staged: the waiting list is popped from the end.
                        object.waiting.insert(0, message);
                    }
                    Some(Event::ObjectExtracted((phase, index))) => {
                        if let Some(object) = objects.get_mut(phase).and_then(|o| o.get_mut(index)) {
                            object.extracted = true;
                        }
                    }
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

/// Where the loading of one object stands.
#[derive(Default)]
struct ObjectLoad {
    /// Every chunk of it is staged (the extraction of the object ended).
    extracted: bool,
    /// Chunks staged and not started, newest first.
    waiting: Vec<ChunkMessage>,
    in_flight: usize,
    /// Extracted, and every chunk loaded.
    loaded: bool,
}

/// For each object of `phases`, the objects of earlier phases among `targets(object)`:
/// what its chunks wait for. `name` names an object; targets not in the phases, and those
/// in its own or a later phase (links deferred to finalize), are left out.
pub(crate) fn waits_for<O>(
    phases: &[Vec<O>],
    name: impl Fn(&O) -> &str,
    targets: impl Fn(&O) -> Vec<String>,
) -> Vec<Vec<Vec<Slot>>> {
    let mut slots: BTreeMap<&str, Slot> = BTreeMap::new();
    for (phase, objects) in phases.iter().enumerate() {
        for (index, object) in objects.iter().enumerate() {
            slots.insert(name(object), (phase, index));
        }
    }
    phases
        .iter()
        .enumerate()
        .map(|(phase, objects)| {
            objects
                .iter()
                .map(|object| {
                    let mut waits: Vec<Slot> = targets(object)
                        .iter()
                        .filter_map(|target| slots.get(target.as_str()).copied())
                        .filter(|(target_phase, _)| *target_phase < phase)
                        .collect();
                    waits.sort_unstable();
                    waits.dedup();
                    waits
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ferry_model::ids::{RunId, TenantId};
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

    fn slot_of(message: &ChunkMessage) -> Option<Slot> {
        match message.object.as_str() {
            "Account" => Some((0, 0)),
            "Contact" => Some((1, 0)),
            "Lead" => Some((1, 1)),
            "Task" => Some((2, 0)),
            _ => None,
        }
    }

    /// Each object waits for every object of every earlier phase.
    fn strict(phases: &[Vec<&str>]) -> Vec<Vec<Vec<Slot>>> {
        waits_for(
            phases,
            |object: &&str| object,
            |object: &&str| {
                phases
                    .iter()
                    .take_while(|objects| !objects.contains(object))
                    .flatten()
                    .map(|name| (*name).to_owned())
                    .collect()
            },
        )
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
            &strict(&phases),
            slot_of,
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
            |_| {},
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
            &strict(&phases),
            slot_of,
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
            |_| {},
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
            &strict(&phases),
            slot_of,
            |_| {},
            |_: &&str, queue: ChannelQueue| async move {
                queue
                    .send(&message("Mystery", 0))
                    .await
                    .map_err(StepError::Queue)
            },
            |_: ChunkMessage| async { Ok(()) },
            |_| {},
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
            &strict(&phases),
            |message: &ChunkMessage| match message.object.as_str() {
                "Account" => Some((0, 0)),
                "Contact" => Some((1, 0)),
                "Attachment" => Some((1, 1)),
                "Task" => Some((2, 0)),
                _ => Some((2, 1)),
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
            |_| {},
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

    #[test]
    fn an_object_waits_only_for_the_objects_it_links_to() {
        // Task links to Contact only; Lead (same phase as Contact) is slow to extract.
        let phases = vec![vec!["Account"], vec!["Contact", "Lead"], vec!["Task"]];
        let waits = waits_for(
            &phases,
            |object: &&str| object,
            |object: &&str| match *object {
                "Contact" | "Lead" => vec!["Account".to_owned()],
                "Task" => vec!["Contact".to_owned(), "Task".to_owned()],
                _ => Vec::new(),
            },
        );
        assert_eq!(
            waits[2][0],
            vec![(1, 0)],
            "its own phase and itself do not count"
        );
        let log = Log::default();
        let result = futures::executor::block_on(run(
            &phases,
            Concurrency {
                extract: 3,
                load: 2,
            },
            |_| None,
            &waits,
            slot_of,
            |_| {},
            |object: &&str, queue: ChannelQueue| {
                let object = (*object).to_owned();
                let log = &log;
                async move {
                    let slow = if object == "Lead" { 50 } else { 1 };
                    for _ in 0..slow {
                        yield_now().await;
                    }
                    queue
                        .send(&message(&object, 0))
                        .await
                        .map_err(StepError::Queue)?;
                    log.0.borrow_mut().push(format!("staged {object}"));
                    Ok(())
                }
            },
            |message: ChunkMessage| {
                let log = &log;
                async move {
                    log.0.borrow_mut().push(format!("start {}", message.object));
                    yield_now().await;
                    log.0.borrow_mut().push(format!("done {}", message.object));
                    Ok(())
                }
            },
            |_| {},
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
        assert!(index("done Account") < index("start Contact"), "{log:?}");
        assert!(index("done Contact") < index("start Task"), "{log:?}");
        // The task loads while the lead is still being extracted, and its phase is
        // reported loaded before the lead's.
        assert!(index("done Task") < index("staged Lead"), "{log:?}");
        assert!(index("phase 2 loaded") < index("phase 1 loaded"), "{log:?}");
        assert_eq!(
            log.iter().filter(|line| line.starts_with("phase ")).count(),
            3
        );
    }
}
