//! How a pull (or a push) reports what it does. The library prints nothing: the caller
//! passes a [`PullProgress`] (rdock's terminal renderer, or [`Silent`]).
//! Lines and layer events are docker's words ("Pulling from", "Downloading",
//! "Pull complete"...); how they are shown is the caller's business.

/// Receives a pull's status lines and makes one reporter per layer.
pub trait PullProgress: Send + Sync {
    /// A status line ("Using default tag: latest", "Digest: ...").
    fn line(&self, msg: &str);
    /// A reporter for one layer blob of `size` bytes, made in manifest order
    /// before any layer is fetched.
    fn layer(&self, digest: &str, size: u64) -> Box<dyn LayerProgress>;
}

/// Events of one layer, from "Waiting" to `done`.
pub trait LayerProgress: Send + Sync {
    /// The layer's current step ("Downloading", "Extracting").
    fn status(&self, msg: &str);
    /// Bytes of the blob held so far (a resumed download starts above 0).
    fn set_position(&self, bytes: u64);
    /// `bytes` more have arrived.
    fn inc(&self, bytes: u64);
    /// The layer's last word ("Pull complete", "Already exists").
    fn done(&self, msg: &str);
}

/// Reports nothing.
pub struct Silent;

impl PullProgress for Silent {
    fn line(&self, _: &str) {}
    fn layer(&self, _: &str, _: u64) -> Box<dyn LayerProgress> {
        Box::new(Silent)
    }
}

impl LayerProgress for Silent {
    fn status(&self, _: &str) {}
    fn set_position(&self, _: u64) {}
    fn inc(&self, _: u64) {}
    fn done(&self, _: &str) {}
}
