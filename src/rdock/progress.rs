//! How `rdock pull` (and `run`'s pull) shows a pull: a bar per layer on a
//! terminal, plain lines otherwise, nothing with `-q`. The image library
//! reports through [`image::progress::PullProgress`]; this draws it.
use image::progress::{LayerProgress, PullProgress};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// docker's pull output on stdout.
pub struct Terminal {
    multi: Option<MultiProgress>,
    plain: bool,
}

impl Terminal {
    pub fn new(quiet: bool) -> Terminal {
        if quiet {
            return Terminal {
                multi: None,
                plain: false,
            };
        }
        if std::io::stdout().is_terminal() {
            let m = MultiProgress::with_draw_target(ProgressDrawTarget::stdout());
            Terminal {
                multi: Some(m),
                plain: false,
            }
        } else {
            Terminal {
                multi: None,
                plain: true,
            }
        }
    }
}

impl PullProgress for Terminal {
    fn line(&self, msg: &str) {
        match &self.multi {
            Some(m) => {
                let _ = m.println(msg);
            }
            None if self.plain => println!("{msg}"),
            None => {}
        }
    }

    fn layer(&self, digest: &str, size: u64) -> Box<dyn LayerProgress> {
        let id = image::store::short_id(digest);
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
        Box::new(Layer {
            bar,
            multi: self.multi.clone(),
            id,
            plain: self.plain,
        })
    }
}

struct Layer {
    bar: Option<ProgressBar>,
    multi: Option<MultiProgress>,
    id: String,
    plain: bool,
}

impl LayerProgress for Layer {
    fn status(&self, msg: &str) {
        if let Some(b) = &self.bar {
            b.set_message(msg.to_string());
        } else if self.plain {
            println!("{}: {msg}", self.id);
        }
    }

    fn set_position(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.set_position(n);
        }
    }

    fn inc(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }

    fn done(&self, msg: &str) {
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
