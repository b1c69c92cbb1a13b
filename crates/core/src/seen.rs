//! The seen mark (docs/SYNC.md section 6): outside the database, one small
//! file per device id holding the highest event number this computer has
//! seen that device's database reach. A database opened lower than its mark
//! is an older copy (a file copied back, a backup restored by hand): the
//! numbers it issued after that copy may be issued again, so its identity
//! becomes `restored`. The runtime chooses the directory
//! ([`crate::Api::set_seen_dir`]); without one nothing is checked.
//!
//! The mark is written after each commit that raised the device's number
//! (made by temp file + rename, then its fixed-width number overwritten in
//! place; no fsync): a mark that lags only weakens the check, it never
//! raises a false alarm. An unreadable mark is treated as absent.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension};

/// What the seen mark says about a database at open. Pure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// As new as (or newer than) anything this computer saw of the device.
    Current,
    /// Older than what this computer already saw: an earlier copy.
    Older,
}

/// The whole rule: the database's highest event number against the mark.
pub fn against_mark(db_seq: i64, mark: Option<i64>) -> Seen {
    match mark {
        Some(m) if db_seq < m => Seen::Older,
        _ => Seen::Current,
    }
}

/// The marks in one directory, and the last one this process wrote.
pub struct SeenMarks {
    dir: PathBuf,
    last: Mutex<Last>,
}

#[derive(Default)]
struct Last {
    device_id: String,
    seq: Option<i64>,
    /// The mark file this process made, kept open: later raises overwrite
    /// its fixed-width number in place (a rename per write would cost a
    /// journal commit each time, docs/SYNC.md 6).
    file: Option<std::fs::File>,
}

/// The mark as written: fixed width, so an overwrite in place never leaves
/// a longer number's tail behind.
fn text_of(seq: i64) -> String {
    format!("{seq:020}\n")
}

impl SeenMarks {
    pub fn new(dir: PathBuf) -> Self {
        SeenMarks { dir, last: Mutex::new(Last::default()) }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The mark file of `device_id`; `None` for an id that is no plain file
    /// name (a database is outside input).
    pub fn file_of(&self, device_id: &str) -> Option<PathBuf> {
        let plain = !device_id.is_empty()
            && device_id.len() <= 128
            && device_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        plain.then(|| self.dir.join(format!("{device_id}.seen")))
    }

    /// The mark of `device_id`: `None` when there is none, or when it cannot
    /// be read or parsed (a warning; the check fails open).
    pub fn read(&self, device_id: &str) -> Option<i64> {
        let path = self.file_of(device_id)?;
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "seen mark unreadable: treated as absent");
                return None;
            }
        };
        match text.trim().parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => {
                tracing::warn!(path = %path.display(), "seen mark malformed: treated as absent");
                None
            }
        }
    }

    /// Raises the mark of `device_id` to `seq` when it is higher than the
    /// last one this process wrote or read (never lowers it); a failure is a
    /// warning. The first write makes the file (temp file + rename), later
    /// ones overwrite its number in place.
    pub fn raise(&self, device_id: &str, seq: i64) {
        use std::io::{Seek, SeekFrom, Write};
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let same = last.device_id == device_id;
        if same && last.seq.is_some_and(|n| n >= seq) {
            return;
        }
        let Some(path) = self.file_of(device_id) else { return };
        if same {
            if let Some(file) = last.file.as_mut() {
                let done = file.seek(SeekFrom::Start(0)).and_then(|_| file.write_all(text_of(seq).as_bytes()));
                match done {
                    Ok(()) => {
                        last.seq = Some(seq);
                        return;
                    }
                    Err(e) => tracing::warn!(path = %path.display(), error = %e, "could not write the seen mark"),
                }
            }
        }
        let tmp = self.dir.join(format!("{device_id}.seen.{}.tmp", std::process::id()));
        let written = std::fs::create_dir_all(&self.dir)
            .and_then(|()| std::fs::write(&tmp, text_of(seq)))
            .and_then(|()| std::fs::rename(&tmp, &path))
            .and_then(|()| std::fs::OpenOptions::new().write(true).open(&path));
        match written {
            Ok(file) => *last = Last { device_id: device_id.to_string(), seq: Some(seq), file: Some(file) },
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                tracing::warn!(path = %path.display(), error = %e, "could not write the seen mark");
            }
        }
    }

    /// Takes `seq` as already written for `device_id` (the mark read at
    /// open, above the database's number): writes below it are skipped.
    pub fn remember(&self, device_id: &str, seq: i64) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) =
            Last { device_id: device_id.to_string(), seq: Some(seq), file: None };
    }

    /// After a commit: the mark follows the device's highest event number.
    pub fn after_commit(&self, conn: &Connection) {
        match highest(conn) {
            Ok(Some((id, seq))) => self.raise(&id, seq),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "could not read the device's event number for the seen mark"),
        }
    }
}

/// The device's id and its highest event number (0 before any); `None`
/// before `setup.init`.
pub fn highest(conn: &Connection) -> crate::error::Result<Option<(String, i64)>> {
    Ok(conn
        .prepare_cached("SELECT id, next_event_seq - 1 FROM device")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_against_what_this_computer_saw() {
        let cases = [
            ("never seen on this computer", 5, None, Seen::Current),
            ("the copy this computer last used", 5, Some(5), Seen::Current),
            ("used further elsewhere (or the mark lagged)", 9, Some(5), Seen::Current),
            ("an older copy put back over the file", 4, Some(5), Seen::Older),
            ("a backup from before anything was sold", 0, Some(1), Seen::Older),
            ("a fresh device with no mark", 0, None, Seen::Current),
        ];
        for (scenario, db_seq, mark, expected) in cases {
            assert_eq!(against_mark(db_seq, mark), expected, "{scenario}");
        }
    }

    #[test]
    fn a_bad_mark_is_absent_and_a_mark_never_goes_down() {
        let dir = tempfile::tempdir().unwrap();
        let marks = SeenMarks::new(dir.path().join("state"));
        assert_eq!(marks.read("dev-1"), None, "no mark yet");
        marks.raise("dev-1", 7);
        assert_eq!(marks.read("dev-1"), Some(7));
        marks.raise("dev-1", 3);
        assert_eq!(marks.read("dev-1"), Some(7), "never lowered");
        let later = SeenMarks::new(dir.path().join("state"));
        later.remember("dev-1", 7);
        later.raise("dev-1", 5);
        assert_eq!(later.read("dev-1"), Some(7), "an older copy's writes do not lower it");
        later.raise("dev-1", 8);
        assert_eq!(later.read("dev-1"), Some(8));
        later.raise("dev-1", 12_345);
        assert_eq!(later.read("dev-1"), Some(12_345), "overwritten in place");
        later.raise("dev-2", 3);
        assert_eq!(
            (later.read("dev-1"), later.read("dev-2")),
            (Some(12_345), Some(3)),
            "a new device id, a mark of its own"
        );
        std::fs::write(dir.path().join("state/dev-1.seen"), "seven\n").unwrap();
        assert_eq!(marks.read("dev-1"), None, "malformed: treated as absent");
        assert_eq!(marks.file_of("../x"), None, "no path from a device id");
        assert_eq!(marks.read("../x"), None);
    }
}
