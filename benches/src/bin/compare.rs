//! The side-by-side comparison of redmux, redis-rs and fred against one server in
//! one run. `compare --help` for the options; `scripts/compare` runs it in release
//! mode. The logic lives in `redmux_benches::compare`.

use std::process::ExitCode;

use redmux_benches::compare::{self, args};

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let options = match args::parse(&argv) {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("compare: {e}");
            return ExitCode::from(2);
        }
    };
    match compare::run(&options) {
        Ok(report) => {
            println!("{}", report.render());
            if let Some(path) = &options.json {
                println!("figures written to {}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("compare: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}
