// The shapes the technician screens read: the generated ones (from the Rust
// structs), with the JSON-typed fields narrowed where the API documents them.

import type { RunRecord as GeneratedRun, Step } from "../../lib/generated/types";

export type { Colleague, Customer, Item, JobCard, JobCardStatus, Line, Step, Vehicle } from "../../lib/generated/types";

/** A run of an orchestrator; `steps` is documented as `[Step]` (docs/API.md, Step). */
export type RunRecord = Omit<GeneratedRun, "steps"> & { steps: Step[] };
