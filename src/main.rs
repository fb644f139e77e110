fn main() -> std::process::ExitCode {
    townhall::cli::main()
}
