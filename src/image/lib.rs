//! Images for the `rdock` frontend: references, registry pulls, the content
//! store, and safe unpacking of layers.
//!
//! # Store layout (under rdock's root, default `/var/lib/rdock`)
//!
//! ```text
//! oci-layout, index.json     OCI image layout marker and index (names as ref.name annotations)
//! blobs/sha256/<hex>         manifests, configs and compressed layers, by digest
//! layers/<chain-id hex>/     one unpacked directory per layer, keyed by chain ID
//! images.json                names, tags and image records (the store's own index;
//!                            rebuilt from blobs, layers and index.json if damaged)
//! tmp/                       partial downloads (`HEX.partial`) and layers being
//!                            unpacked (`layer-PID-N`): a dead pull's go at the next pull
//! lock                       flock(2) serialising index updates
//! ```
//!
//! The root is 0710 and every directory in it 0700 ([`store::prepare_root`]):
//! unpacked layers keep their setuid files and containers' records their
//! environment, so only root may reach them. Bounds on what a registry may
//! send and a layer may unpack to are in [`limits`].
//!
//! Layers are shared between images through their chain ID. Each layer
//! directory holds only that layer's diff, with whiteouts kept the way
//! overlayfs understands them, so the run side can mount
//! `overlay -o lowerdir=<top>:...:<bottom>` straight on the layer dirs:
//! a `.wh.NAME` entry becomes a 0/0 character device `NAME`, and a
//! `.wh..wh..opq` entry sets `trusted.overlay.opaque=y` on its directory.
//!
//! The run side resolves a reference with [`store::Store::resolve`] (or
//! [`pull::resolve_or_pull`], which pulls a missing image first), getting the
//! image config and the layer directories, bottom layer first. Containers
//! record their image ID in `<root>/containers/<id>/image` so that `rmi`
//! refuses to remove an image in use ([`store::Store::images_in_use`]).
//!
//! The library prints nothing: a pull reports its lines and per-layer
//! events through a [`progress::PullProgress`] the caller passes (rdock
//! draws them as docker does; [`progress::Silent`] drops them).
pub mod archive;
pub mod auth;
pub mod changes;
pub mod commit;
pub mod digest;
pub mod layer;
pub mod limits;
pub mod platform;
pub mod progress;
pub mod pull;
pub mod push;
pub mod reference;
pub mod registry;
pub mod store;
pub mod unpack;
