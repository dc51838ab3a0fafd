//! The `tensorwire` binary: parses the command line and runs it.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = tensorwire::cli::Cli::parse();
    tensorwire::cli::run(cli)
}
