//! Pull progress: a bar per layer on a terminal, plain lines otherwise,
//! nothing with `-q`.
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

#[derive(Clone)]
pub struct Progress {
    multi: Option<MultiProgress>,
    plain: bool,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        if quiet {
            return Progress {
                multi: None,
                plain: false,
            };
        }
        if std::io::stdout().is_terminal() {
            let m = MultiProgress::with_draw_target(ProgressDrawTarget::stdout());
            Progress {
                multi: Some(m),
                plain: false,
            }
        } else {
            Progress {
                multi: None,
                plain: true,
            }
        }
    }

    /// A plain status line (shown unless quiet).
    pub fn line(&self, msg: &str) {
        match &self.multi {
            Some(m) => {
                let _ = m.println(msg);
            }
            None if self.plain => println!("{msg}"),
            None => {}
        }
    }

    pub fn layer(&self, digest: &str, size: u64) -> LayerProgress {
        let id = crate::store::short_id(digest);
        let bar = self.multi.as_ref().map(|m| {
            let b = m.add(ProgressBar::new(size));
            b.set_style(
                ProgressStyle::with_template(
                    "{prefix}: {msg:<18} [{bar:30}] {bytes}/{total_bytes}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            b.set_prefix(id.clone());
            b.set_message("Waiting");
            b
        });
        LayerProgress {
            bar,
            multi: self.multi.clone(),
            id,
            plain: self.plain,
        }
    }
}

pub struct LayerProgress {
    bar: Option<ProgressBar>,
    multi: Option<MultiProgress>,
    id: String,
    plain: bool,
}

impl LayerProgress {
    pub fn status(&self, msg: &str) {
        if let Some(b) = &self.bar {
            b.set_message(msg.to_string());
        } else if self.plain {
            println!("{}: {msg}", self.id);
        }
    }

    pub fn set_position(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.set_position(n);
        }
    }

    pub fn inc(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }

    pub fn done(&self, msg: &str) {
        if let (Some(b), Some(m)) = (&self.bar, &self.multi) {
            // A finished bar would be wiped by a later redraw: its last
            // line goes above the live bars and stays, as docker's do.
            b.finish_and_clear();
            m.remove(b);
            let _ = m.println(format!("{}: {msg}", self.id));
        } else if self.plain {
            println!("{}: {msg}", self.id);
        }
    }
}
