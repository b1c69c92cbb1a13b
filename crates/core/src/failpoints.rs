//! Test-only fault injection: a named point in an orchestrator fails when
//! armed. Compiled in only with the `failpoints` feature (the tests enable
//! it); in every other build [`check`] is an empty function.

use crate::error::Result;

/// What an armed point does when reached.
#[cfg(feature = "failpoints")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Fails with an internal (permanent) error, every time.
    Fail,
    /// Fails with SQLITE_BUSY this many more times, then passes.
    Busy(u32),
    /// Kills the process on the spot, as a power cut would.
    Abort,
}

#[cfg(feature = "failpoints")]
thread_local! {
    static ARMED: std::cell::RefCell<Option<(String, Fault)>> = const { std::cell::RefCell::new(None) };
}

/// Arms `name` to fail (or disarms with `None`) on this thread.
#[cfg(feature = "failpoints")]
pub fn arm(name: Option<&str>) {
    ARMED.with(|a| *a.borrow_mut() = name.map(|n| (n.to_string(), Fault::Fail)));
}

/// Arms `name` with a given fault on this thread.
#[cfg(feature = "failpoints")]
pub fn arm_with(name: &str, fault: Fault) {
    ARMED.with(|a| *a.borrow_mut() = Some((name.to_string(), fault)));
}

/// Fails (or aborts the process) when `name` is armed.
#[cfg(feature = "failpoints")]
pub fn check(name: &str) -> Result<()> {
    let fault = ARMED.with(|a| {
        let mut armed = a.borrow_mut();
        match armed.as_mut() {
            Some((n, fault)) if n == name => {
                let now = *fault;
                if let Fault::Busy(left) = fault {
                    if *left <= 1 {
                        *armed = None;
                    } else {
                        *left -= 1;
                    }
                }
                Some(now)
            }
            _ => None,
        }
    });
    match fault {
        None => Ok(()),
        Some(Fault::Fail) => Err(crate::error::Error::Internal(format!("failpoint {name}"))),
        Some(Fault::Busy(_)) => Err(crate::error::Error::Db(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            Some(format!("failpoint {name}")),
        ))),
        Some(Fault::Abort) => std::process::abort(),
    }
}

#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn check(_name: &str) -> Result<()> {
    Ok(())
}
