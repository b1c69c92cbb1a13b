//! What a batch does to a device's sequence (docs/SYNC.md sections 1-3), decided by a pure
//! function from what the database holds; `store` reads that state and carries the plan out
//! in the same transaction, with the device row locked.

use std::collections::{HashMap, HashSet};

use crate::batch::{Envelope, Hole};
use crate::error::CloudError;

/// What the database holds that bears on one batch of one device, read under the device's lock.
#[derive(Debug, Default, Clone)]
pub struct Stored {
    /// The highest number of the device's sequence covered by events, duplicates and holes.
    pub last_seq: i64,
    /// Event ids of the batch that are already stored (by any device).
    pub ids: HashSet<String>,
    /// The device's stored events at the batch's numbers: device_seq → event id.
    pub held: HashMap<i64, String>,
    /// The device's open holes at the batch's numbers: device_seq → the event it stands for.
    pub holes: HashMap<i64, String>,
}

/// What to write, and what to answer.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// Indexes into the batch's events to store, in device_seq order.
    pub store: Vec<usize>,
    /// Open holes the stored events fill (rows to delete).
    pub filled: Vec<i64>,
    /// Holes to record.
    pub new_holes: Vec<Hole>,
    pub accepted: Vec<String>,
    pub duplicates: Vec<String>,
    /// The numbers declared holes by this batch (new or declared again).
    pub holes: Vec<i64>,
    pub last_seq: i64,
}

enum Item<'a> {
    Event(usize, &'a Envelope),
    Hole(&'a Hole),
}

/// Walks the batch's events and holes in device_seq order (an event before a hole of the same
/// number). All of the batch or none: a gap or a reused number refuses the whole batch.
pub fn plan(stored: &Stored, events: &[Envelope], holes: &[Hole]) -> Result<Plan, CloudError> {
    let mut items: Vec<(i64, u8, Item)> =
        events.iter().enumerate().map(|(i, e)| (e.device_seq, 0, Item::Event(i, e))).collect();
    items.extend(holes.iter().map(|h| (h.device_seq, 1, Item::Hole(h))));
    items.sort_by_key(|(seq, rank, _)| (*seq, *rank));

    let gap = || CloudError::SequenceGap { expected_seq: stored.last_seq + 1 };
    let mut out = Plan { last_seq: stored.last_seq, ..Plan::default() };
    // What this batch has done so far, on top of what is stored.
    let mut held = stored.held.clone();
    let mut open: HashMap<i64, String> = stored.holes.clone();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut new_holes: HashMap<i64, &Hole> = HashMap::new();

    for (seq, _, item) in items {
        let next = out.last_seq + 1;
        match item {
            Item::Event(index, event) => {
                if stored.ids.contains(&event.id) || seen.contains(event.id.as_str()) {
                    // Stored once, by id. A duplicate covers its number when it is the next one
                    // (an event sent again under a new device id, docs/SYNC.md section 6).
                    if seq > next {
                        return Err(gap());
                    }
                    if seq == next {
                        out.last_seq = seq;
                    }
                    out.duplicates.push(event.id.clone());
                    continue;
                }
                if seq > next {
                    return Err(gap());
                }
                if seq < next {
                    if open.remove(&seq).is_some() {
                        if new_holes.remove(&seq).is_none() {
                            out.filled.push(seq);
                        }
                    } else {
                        return Err(CloudError::SequenceReused {
                            device_seq: seq,
                            held_event_id: held.get(&seq).cloned(),
                        });
                    }
                } else {
                    out.last_seq = seq;
                }
                seen.insert(&event.id);
                held.insert(seq, event.id.clone());
                out.store.push(index);
                out.accepted.push(event.id.clone());
            }
            Item::Hole(hole) => {
                if seq > next {
                    return Err(gap());
                }
                if seq == next {
                    out.last_seq = seq;
                    open.insert(seq, hole.event_id.clone());
                    new_holes.insert(seq, hole);
                    out.holes.push(seq);
                } else if open.contains_key(&seq) {
                    out.holes.push(seq);
                } else if let Some(holder) = held.get(&seq) {
                    if *holder != hole.event_id {
                        return Err(CloudError::SequenceReused {
                            device_seq: seq,
                            held_event_id: Some(holder.clone()),
                        });
                    }
                    // The event this hole stands for is already stored: nothing to hold back.
                }
            }
        }
    }
    let mut kept: Vec<Hole> = new_holes.into_values().cloned().collect();
    kept.sort_by_key(|h| h.device_seq);
    out.new_holes = kept;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use serde_json::json;

    fn ev(id: &str, seq: i64) -> Envelope {
        Envelope {
            id: id.into(),
            event_type: "CustomerCreated".into(),
            schema_version: 1,
            aggregate_type: "customer".into(),
            aggregate_id: "c".into(),
            occurred_at: Utc::now(),
            tenant_id: "t".into(),
            branch_id: "b".into(),
            device_id: "d".into(),
            device_seq: seq,
            actor_id: None,
            payload: json!({}),
        }
    }

    fn hole(id: &str, seq: i64) -> Hole {
        Hole { device_seq: seq, event_id: id.into(), reason: "quarantined".into() }
    }

    fn stored(last_seq: i64, held: &[(i64, &str)], holes: &[(i64, &str)]) -> Stored {
        Stored {
            last_seq,
            ids: held.iter().map(|(_, id)| id.to_string()).collect(),
            held: held.iter().map(|(s, id)| (*s, id.to_string())).collect(),
            holes: holes.iter().map(|(s, id)| (*s, id.to_string())).collect(),
        }
    }

    fn code(r: &Result<Plan, CloudError>) -> String {
        match r {
            Ok(_) => "ok".into(),
            Err(e) => {
                let (_, code, details) = e.parts();
                format!("{code} {details}")
            }
        }
    }

    #[test]
    fn scenarios() {
        struct Case {
            name: &'static str,
            stored: Stored,
            events: Vec<Envelope>,
            holes: Vec<Hole>,
            answer: &'static str,
            accepted: &'static [&'static str],
            duplicates: &'static [&'static str],
            holes_out: &'static [i64],
            filled: &'static [i64],
            last_seq: i64,
        }
        let cases = vec![
            Case {
                name: "a first batch is accepted in order",
                stored: stored(0, &[], &[]),
                events: vec![ev("a", 1), ev("b", 2)],
                holes: vec![],
                answer: "ok",
                accepted: &["a", "b"],
                duplicates: &[],
                holes_out: &[],
                filled: &[],
                last_seq: 2,
            },
            Case {
                name: "the same batch again is all duplicates",
                stored: stored(2, &[(1, "a"), (2, "b")], &[]),
                events: vec![ev("a", 1), ev("b", 2)],
                holes: vec![],
                answer: "ok",
                accepted: &[],
                duplicates: &["a", "b"],
                holes_out: &[],
                filled: &[],
                last_seq: 2,
            },
            Case {
                name: "a batch overlapping what is stored accepts only the new part",
                stored: stored(2, &[(1, "a"), (2, "b")], &[]),
                events: vec![ev("b", 2), ev("c", 3)],
                holes: vec![],
                answer: "ok",
                accepted: &["c"],
                duplicates: &["b"],
                holes_out: &[],
                filled: &[],
                last_seq: 3,
            },
            Case {
                name: "a missing predecessor is a gap naming the next number expected",
                stored: stored(2, &[(1, "a"), (2, "b")], &[]),
                events: vec![ev("d", 4)],
                holes: vec![],
                answer: "sequence_gap {\"expected_seq\":3}",
                accepted: &[],
                duplicates: &[],
                holes_out: &[],
                filled: &[],
                last_seq: 0,
            },
            Case {
                name: "a gap inside the batch refuses all of it, expecting the stored next",
                stored: stored(0, &[], &[]),
                events: vec![ev("a", 1), ev("c", 3)],
                holes: vec![],
                answer: "sequence_gap {\"expected_seq\":1}",
                accepted: &[],
                duplicates: &[],
                holes_out: &[],
                filled: &[],
                last_seq: 0,
            },
            Case {
                name: "a held number with another event is sequence_reused",
                stored: stored(2, &[(1, "a"), (2, "b")], &[]),
                events: vec![ev("x", 2), ev("y", 3)],
                holes: vec![],
                answer: "sequence_reused {\"device_seq\":2,\"held_event_id\":\"b\"}",
                accepted: &[],
                duplicates: &[],
                holes_out: &[],
                filled: &[],
                last_seq: 0,
            },
            Case {
                name: "holes cover numbers between events",
                stored: stored(0, &[], &[]),
                events: vec![ev("a", 1), ev("c", 3)],
                holes: vec![hole("b", 2)],
                answer: "ok",
                accepted: &["a", "c"],
                duplicates: &[],
                holes_out: &[2],
                filled: &[],
                last_seq: 3,
            },
            Case {
                name: "an event fills its hole later",
                stored: stored(3, &[(1, "a"), (3, "c")], &[(2, "b")]),
                events: vec![ev("b", 2), ev("d", 4)],
                holes: vec![],
                answer: "ok",
                accepted: &["b", "d"],
                duplicates: &[],
                holes_out: &[],
                filled: &[2],
                last_seq: 4,
            },
            Case {
                name: "a hole declared again is answered again",
                stored: stored(2, &[(1, "a")], &[(2, "b")]),
                events: vec![],
                holes: vec![hole("b", 2)],
                answer: "ok",
                accepted: &[],
                duplicates: &[],
                holes_out: &[2],
                filled: &[],
                last_seq: 2,
            },
            Case {
                name: "a hole over a stored event of another id is sequence_reused",
                stored: stored(2, &[(1, "a"), (2, "b")], &[]),
                events: vec![],
                holes: vec![hole("z", 2)],
                answer: "sequence_reused {\"device_seq\":2,\"held_event_id\":\"b\"}",
                accepted: &[],
                duplicates: &[],
                holes_out: &[],
                filled: &[],
                last_seq: 0,
            },
            Case {
                name: "a hole and its event in one batch: the event is stored, no hole kept",
                stored: stored(0, &[], &[]),
                events: vec![ev("a", 1)],
                holes: vec![hole("a", 1)],
                answer: "ok",
                accepted: &["a"],
                duplicates: &[],
                holes_out: &[],
                filled: &[],
                last_seq: 1,
            },
            Case {
                name: "an event stored under another device covers its next number as a duplicate",
                stored: Stored { last_seq: 0, ids: ["a".to_string()].into(), ..Stored::default() },
                events: vec![ev("a", 1), ev("b", 2)],
                holes: vec![],
                answer: "ok",
                accepted: &["b"],
                duplicates: &["a"],
                holes_out: &[],
                filled: &[],
                last_seq: 2,
            },
            Case {
                name: "a hole beyond the next number is a gap",
                stored: stored(1, &[(1, "a")], &[]),
                events: vec![],
                holes: vec![hole("c", 3)],
                answer: "sequence_gap {\"expected_seq\":2}",
                accepted: &[],
                duplicates: &[],
                holes_out: &[],
                filled: &[],
                last_seq: 0,
            },
        ];
        for c in cases {
            let r = plan(&c.stored, &c.events, &c.holes);
            assert_eq!(code(&r), c.answer, "{}", c.name);
            if let Ok(p) = r {
                assert_eq!(p.accepted, c.accepted, "{}: accepted", c.name);
                assert_eq!(p.duplicates, c.duplicates, "{}: duplicates", c.name);
                assert_eq!(p.holes, c.holes_out, "{}: holes", c.name);
                assert_eq!(p.filled, c.filled, "{}: filled", c.name);
                assert_eq!(p.last_seq, c.last_seq, "{}: last_seq", c.name);
                assert_eq!(p.store.len(), c.accepted.len(), "{}: stores what it accepts", c.name);
            }
        }
    }
}
