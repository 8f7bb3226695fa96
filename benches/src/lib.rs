//! Shared code of the benchmark binaries (`src/bin/`): the benchmark shop, signed Shopify order
//! bodies, latency percentiles, `/proc` readings, child processes, the moto SDK configuration,
//! table printing, the embedded store with the real ledger services in-process, and the embedded
//! store with the real mail sweep and the outbox.
//!
//! Benchmarks print figures; they are not tests and have no pass/fail thresholds but two (the
//! `ledger` and `mail` sweeps' ratios, which their issues ask for). They do check that what they
//! measured was correct work (every answer 200, every order credited once, every due mail sent
//! once) and exit non-zero when it was not, because a fast wrong answer is not a figure.

pub mod args;
pub mod child;
pub mod client;
pub mod embedded;
pub mod machine;
pub mod mailing;
pub mod moto;
pub mod orders;
pub mod procfs;
pub mod runner;
pub mod shop;
pub mod stats;
pub mod table;
pub mod tasks;

use std::path::PathBuf;
use std::process::ExitCode;

/// Errors keep their cause chain (`source`); `main` prints all of it.
pub type BenchError = Box<dyn std::error::Error + Send + Sync>;
pub type BenchResult<T> = Result<T, BenchError>;

/// The workspace root (the directory holding `benches/`).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// Prints `error` with every cause, one per line, for `main` to return a failure after.
pub fn print_error(program: &str, error: &BenchError) {
    eprintln!("{program}: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        eprintln!("  caused by: {cause}");
        source = cause.source();
    }
}

/// A benchmark's `main`: its options (or the usage, for `--help` and bad flags), then `run` on a
/// multi-threaded runtime; an error is printed with its causes and exits non-zero.
pub fn run_main<O, F>(program: &str, usage: &str, options: BenchResult<Option<O>>, run: impl FnOnce(O) -> F) -> ExitCode
where
    F: std::future::Future<Output = BenchResult<()>>,
{
    let options = match args::options_or_exit(program, usage, options) {
        Ok(options) => options,
        Err(code) => return code,
    };
    let done = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(BenchError::from)
        .and_then(|runtime| runtime.block_on(run(options)));
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            print_error(program, &e);
            ExitCode::FAILURE
        }
    }
}

/// SplitMix64: cheap, well-mixed bits for choosing duplicates and ids without a shared RNG.
pub fn mix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
