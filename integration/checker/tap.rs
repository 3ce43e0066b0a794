//! TAP-like reporting: `ok N - what` / `not ok N - what: expected X, got Y`.

use std::fmt::Display;
use std::process::ExitCode;

#[derive(Default)]
pub struct Tap {
    count: usize,
    failed: usize,
}

impl Tap {
    pub fn ok(&mut self, what: impl Display) {
        self.count += 1;
        println!("ok {} - {what}", self.count);
    }

    pub fn fail(&mut self, what: impl Display, why: impl Display) {
        self.count += 1;
        self.failed += 1;
        println!("not ok {} - {what}: {why}", self.count);
    }

    pub fn skip(&mut self, what: impl Display, why: impl Display) {
        self.count += 1;
        println!("ok {} - {what} # SKIP {why}", self.count);
    }

    /// Passes when `got == expected`, else reports both.
    pub fn eq<T: PartialEq + std::fmt::Debug>(&mut self, what: impl Display, expected: T, got: T) {
        if expected == got {
            self.ok(what);
        } else {
            self.fail(what, format!("expected {expected:?}, got {got:?}"));
        }
    }

    /// Passes when `cond`; `why` explains a failure.
    pub fn check(&mut self, what: impl Display, cond: bool, why: impl Display) {
        if cond {
            self.ok(what);
        } else {
            self.fail(what, why);
        }
    }

    pub fn finish(self) -> ExitCode {
        println!("1..{}", self.count);
        println!(
            "# {} passed, {} failed",
            self.count - self.failed,
            self.failed
        );
        if self.failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}
