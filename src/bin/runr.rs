fn main() {
    println!("runr");
}
