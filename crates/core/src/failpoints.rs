//! Test-only fault injection: a named point in an orchestrator fails when
//! armed. Compiled in only with the `failpoints` feature (the tests enable
//! it); in every other build [`check`] is an empty function.

use crate::error::Result;

#[cfg(feature = "failpoints")]
thread_local! {
    static ARMED: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Arms `name` (or disarms with `None`) on this thread.
#[cfg(feature = "failpoints")]
pub fn arm(name: Option<&str>) {
    ARMED.with(|a| *a.borrow_mut() = name.map(str::to_string));
}

/// Fails with an internal error when `name` is armed.
#[cfg(feature = "failpoints")]
pub fn check(name: &str) -> Result<()> {
    if ARMED.with(|a| a.borrow().as_deref() == Some(name)) {
        return Err(crate::error::Error::Internal(format!("failpoint {name}")));
    }
    Ok(())
}

#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn check(_name: &str) -> Result<()> {
    Ok(())
}
