//! The PATH search, as execvp(3) does it.

use std::path::{Path, PathBuf};

/// The default PATH of a process that has none (Go's and runc's).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Where `name` would be looked for along `path`, in order; an empty entry
/// means the current directory. A name with a `/` is not searched for.
pub fn candidates<'a>(name: &'a str, path: &'a str) -> impl Iterator<Item = PathBuf> + 'a {
    path.split(':').map(move |d| {
        let d = if d.is_empty() { "." } else { d };
        Path::new(d).join(name)
    })
}

/// The value of PATH in a list of `KEY=VALUE` strings (the last one wins).
pub fn path_of_env(env: &[String]) -> Option<&str> {
    env.iter().rev().find_map(|e| e.strip_prefix("PATH="))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_entries_are_the_current_directory() {
        let v: Vec<_> = candidates("sh", "/bin::/usr/bin").collect();
        assert_eq!(
            v,
            [
                PathBuf::from("/bin/sh"),
                "./sh".into(),
                "/usr/bin/sh".into()
            ]
        );
        let env = vec!["PATH=/a".to_string(), "X=1".into(), "PATH=/b".into()];
        assert_eq!(path_of_env(&env), Some("/b"));
    }
}
