//! What to send next (docs/SYNC.md sections 2 and 5): a pure function of
//! the events not yet at the cloud. Holes already declared that may be
//! filled come first; then the events after the declared number, in
//! device order, without a gap: a quarantined event becomes a hole, and so
//! does every later event of its record (held). A batch is bounded by a
//! count of entries and by the bytes of its events' JSON.

use std::collections::HashSet;

/// The batch limits (SYNC.md: 500 events and 1 MiB of JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Events and holes in one batch.
    pub max_entries: usize,
    /// Bytes of event JSON in one batch (the first event goes alone if bigger).
    pub max_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_entries: 500, max_bytes: 1024 * 1024 }
    }
}

impl Limits {
    /// Halved after a 413, never below one entry.
    pub fn halved(self) -> Limits {
        Limits { max_entries: (self.max_entries / 2).max(1), max_bytes: (self.max_bytes / 2).max(1) }
    }
}

/// What a hole entry weighs in the byte budget.
pub const HOLE_BYTES: usize = 100;

/// One event not yet at the cloud, as the planner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item<'a> {
    pub id: &'a str,
    pub device_seq: i64,
    pub aggregate: (&'a str, &'a str),
    pub quarantined: bool,
    /// The size of its JSON envelope.
    pub bytes: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoleReason {
    /// Refused by the cloud; waits for the owner.
    Quarantined,
    /// Waits behind a quarantined event of the same record.
    Held,
}

impl HoleReason {
    pub fn as_str(self) -> &'static str {
        match self {
            HoleReason::Quarantined => "quarantined",
            HoleReason::Held => "held",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hole {
    pub device_seq: i64,
    pub event_id: String,
    pub reason: HoleReason,
}

/// The next batch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Which fills go, by index into the fills given.
    pub fills: Vec<usize>,
    /// Which pending events go, by index into the pending given.
    pub events: Vec<usize>,
    pub holes: Vec<Hole>,
    /// The highest number the batch covers (events or holes after the
    /// declared number); the declared number itself when it covers none.
    pub through: i64,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.fills.is_empty() && self.events.is_empty() && self.holes.is_empty()
    }

    pub fn entries(&self) -> usize {
        self.fills.len() + self.events.len() + self.holes.len()
    }
}

/// Plans the next batch. `fills`: declared holes that may be sent now,
/// ascending; `pending`: the events after `declared_through`, ascending;
/// `blocked`: records with a quarantined event among the declared holes.
pub fn next_batch(
    declared_through: i64,
    fills: &[Item],
    pending: &[Item],
    blocked: &[(&str, &str)],
    limits: Limits,
) -> Plan {
    let mut held: HashSet<(&str, &str)> = blocked.iter().copied().collect();
    let mut plan = Plan { through: declared_through, ..Plan::default() };
    let mut bytes = 0usize;
    let fits = |plan: &Plan, bytes: usize, more: usize| {
        plan.entries() == 0 || (plan.entries() < limits.max_entries && bytes + more <= limits.max_bytes)
    };
    for (i, f) in fills.iter().enumerate() {
        if f.quarantined {
            held.insert(f.aggregate);
            continue;
        }
        if held.contains(&f.aggregate) {
            continue;
        }
        if !fits(&plan, bytes, f.bytes) {
            // Full: the events after the declared number wait for the next batch.
            return plan;
        }
        bytes += f.bytes;
        plan.fills.push(i);
    }
    for (next, (i, p)) in (declared_through + 1..).zip(pending.iter().enumerate()) {
        if p.device_seq != next {
            // Numbers are gapless on the device; stop at anything else rather than send a gap.
            break;
        }
        let reason = if p.quarantined {
            Some(HoleReason::Quarantined)
        } else if held.contains(&p.aggregate) {
            Some(HoleReason::Held)
        } else {
            None
        };
        let weight = if reason.is_some() { HOLE_BYTES } else { p.bytes };
        if !fits(&plan, bytes, weight) {
            break;
        }
        bytes += weight;
        match reason {
            Some(reason) => {
                held.insert(p.aggregate);
                plan.holes.push(Hole { device_seq: p.device_seq, event_id: p.id.to_string(), reason });
            }
            None => plan.events.push(i),
        }
        plan.through = p.device_seq;
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (id, seq, record, quarantined, bytes)
    type Row = (&'static str, i64, &'static str, bool, usize);

    fn items(rows: &[Row]) -> Vec<Item<'static>> {
        rows.iter()
            .map(|&(id, seq, record, quarantined, bytes)| Item {
                id,
                device_seq: seq,
                aggregate: ("customer", record),
                quarantined,
                bytes,
            })
            .collect()
    }

    struct Case {
        scenario: &'static str,
        declared: i64,
        fills: &'static [Row],
        pending: &'static [Row],
        blocked: &'static [&'static str],
        limits: Limits,
        /// Ids sent, in order (fills then events).
        sent: &'static [&'static str],
        /// (seq, reason) of the holes declared.
        holes: &'static [(i64, HoleReason)],
        through: i64,
    }

    const L: Limits = Limits { max_entries: 500, max_bytes: 1024 * 1024 };
    use HoleReason::{Held, Quarantined};

    const CASES: &[Case] = &[
        Case {
            scenario: "nothing to send",
            declared: 7,
            fills: &[],
            pending: &[],
            blocked: &[],
            limits: L,
            sent: &[],
            holes: &[],
            through: 7,
        },
        Case {
            scenario: "a backlog goes in device order",
            declared: 0,
            fills: &[],
            pending: &[("a", 1, "x", false, 10), ("b", 2, "y", false, 10), ("c", 3, "x", false, 10)],
            blocked: &[],
            limits: L,
            sent: &["a", "b", "c"],
            holes: &[],
            through: 3,
        },
        Case {
            scenario: "the count limit cuts the batch",
            declared: 10,
            fills: &[],
            pending: &[("a", 11, "x", false, 10), ("b", 12, "y", false, 10), ("c", 13, "z", false, 10)],
            blocked: &[],
            limits: Limits { max_entries: 2, max_bytes: 1 << 20 },
            sent: &["a", "b"],
            holes: &[],
            through: 12,
        },
        Case {
            scenario: "the byte limit cuts the batch",
            declared: 0,
            fills: &[],
            pending: &[("a", 1, "x", false, 600), ("b", 2, "y", false, 300), ("c", 3, "z", false, 200)],
            blocked: &[],
            limits: Limits { max_entries: 500, max_bytes: 1000 },
            sent: &["a", "b"],
            holes: &[],
            through: 2,
        },
        Case {
            scenario: "an event bigger than the byte limit goes alone",
            declared: 0,
            fills: &[],
            pending: &[("big", 1, "x", false, 5000), ("b", 2, "y", false, 10)],
            blocked: &[],
            limits: Limits { max_entries: 500, max_bytes: 1000 },
            sent: &["big"],
            holes: &[],
            through: 1,
        },
        Case {
            scenario: "a quarantined event is a hole and its record's later events are held",
            declared: 0,
            fills: &[],
            pending: &[
                ("a", 1, "x", true, 10),
                ("b", 2, "y", false, 10),
                ("c", 3, "x", false, 10),
                ("d", 4, "y", false, 10),
            ],
            blocked: &[],
            limits: L,
            sent: &["b", "d"],
            holes: &[(1, Quarantined), (3, Held)],
            through: 4,
        },
        Case {
            scenario: "a record blocked by a declared quarantined event keeps its new events held",
            declared: 5,
            fills: &[],
            pending: &[("f", 6, "x", false, 10), ("g", 7, "y", false, 10)],
            blocked: &["x"],
            limits: L,
            sent: &["g"],
            holes: &[(6, Held)],
            through: 7,
        },
        Case {
            scenario: "released holes are filled first, then the new events",
            declared: 5,
            fills: &[("a", 2, "x", false, 10), ("c", 4, "x", false, 10)],
            pending: &[("f", 6, "x", false, 10)],
            blocked: &[],
            limits: L,
            sent: &["a", "c", "f"],
            holes: &[],
            through: 6,
        },
        Case {
            scenario: "fills that fill the batch leave the new events for the next one",
            declared: 5,
            fills: &[("a", 2, "x", false, 10), ("c", 4, "x", false, 10)],
            pending: &[("f", 6, "y", false, 10)],
            blocked: &[],
            limits: Limits { max_entries: 2, max_bytes: 1 << 20 },
            sent: &["a", "c"],
            holes: &[],
            through: 5,
        },
        Case {
            scenario: "a fill of a blocked record stays a hole, and so do the later ones",
            declared: 5,
            fills: &[("a", 2, "x", false, 10), ("b", 3, "y", false, 10)],
            pending: &[("f", 6, "x", false, 10)],
            blocked: &["x"],
            limits: L,
            sent: &["b"],
            holes: &[(6, Held)],
            through: 6,
        },
        Case {
            scenario: "only holes: the batch declares them and sends no event",
            declared: 0,
            fills: &[],
            pending: &[("a", 1, "x", true, 10), ("b", 2, "x", false, 10)],
            blocked: &[],
            limits: L,
            sent: &[],
            holes: &[(1, Quarantined), (2, Held)],
            through: 2,
        },
        Case {
            scenario: "a gap in the device's numbers stops the batch before it",
            declared: 0,
            fills: &[],
            pending: &[("a", 1, "x", false, 10), ("c", 3, "y", false, 10)],
            blocked: &[],
            limits: L,
            sent: &["a"],
            holes: &[],
            through: 1,
        },
        Case {
            scenario: "pending that does not start right after the declared number sends nothing new",
            declared: 3,
            fills: &[],
            pending: &[("e", 5, "x", false, 10)],
            blocked: &[],
            limits: L,
            sent: &[],
            holes: &[],
            through: 3,
        },
        Case {
            scenario: "holes count towards the entry limit",
            declared: 0,
            fills: &[],
            pending: &[("a", 1, "x", true, 10), ("b", 2, "x", false, 10), ("c", 3, "y", false, 10)],
            blocked: &[],
            limits: Limits { max_entries: 2, max_bytes: 1 << 20 },
            sent: &[],
            holes: &[(1, Quarantined), (2, Held)],
            through: 2,
        },
    ];

    #[test]
    fn what_to_send_next() {
        for c in CASES {
            let fills = items(c.fills);
            let pending = items(c.pending);
            let blocked: Vec<(&str, &str)> = c.blocked.iter().map(|r| ("customer", *r)).collect();
            let plan = next_batch(c.declared, &fills, &pending, &blocked, c.limits);
            let sent: Vec<&str> =
                plan.fills.iter().map(|&i| fills[i].id).chain(plan.events.iter().map(|&i| pending[i].id)).collect();
            assert_eq!(sent, c.sent, "{}: events sent", c.scenario);
            let holes: Vec<(i64, HoleReason)> = plan.holes.iter().map(|h| (h.device_seq, h.reason)).collect();
            assert_eq!(holes, c.holes, "{}: holes declared", c.scenario);
            assert_eq!(plan.through, c.through, "{}: the number covered", c.scenario);
            // Events and holes after the declared number form one gapless run.
            let mut run: Vec<i64> = plan
                .events
                .iter()
                .map(|&i| pending[i].device_seq)
                .chain(plan.holes.iter().map(|h| h.device_seq))
                .collect();
            run.sort_unstable();
            let want: Vec<i64> = (c.declared + 1..=plan.through).collect();
            assert_eq!(run, want, "{}: a gapless run after the declared number", c.scenario);
        }
    }

    #[test]
    fn halving_never_reaches_zero() {
        let mut l = Limits::default();
        for _ in 0..40 {
            l = l.halved();
        }
        assert_eq!(l, Limits { max_entries: 1, max_bytes: 1 });
    }
}
