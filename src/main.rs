//! The `gridline` command; everything lives in the library.

fn main() -> std::process::ExitCode {
    gridline::cli::main()
}
