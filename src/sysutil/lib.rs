//! Small Linux helpers that runr, the image library and rdock share, each
//! kept in one place: atomic file writes, flock(2), facts from /proc,
//! openat2(2), the PATH search, reaping children, the host terminal and
//! Go duration text.

pub mod child;
pub mod duration;
pub mod fs;
pub mod lock;
pub mod path;
pub mod proc;
pub mod tty;
