fn main() {
    rdock::main()
}
