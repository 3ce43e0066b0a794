//! The `rdock` frontend binary.
fn main() {
    rdock::rdock::main()
}
