//! `--name value` flags, each benchmark declaring the ones it knows.

use std::process::ExitCode;
use std::str::FromStr;

use crate::{print_error, BenchResult};

/// A benchmark's options, or how its `main` stops: `--help` (`Ok(None)`) prints the usage and
/// succeeds; a bad command line prints the error and the usage and fails.
pub fn options_or_exit<O>(program: &str, usage: &str, options: BenchResult<Option<O>>) -> Result<O, ExitCode> {
    match options {
        Ok(Some(options)) => Ok(options),
        Ok(None) => {
            println!("{usage}");
            Err(ExitCode::SUCCESS)
        }
        Err(e) => {
            print_error(program, &e);
            eprintln!("{usage}");
            Err(ExitCode::FAILURE)
        }
    }
}

pub struct Flags {
    pairs: Vec<(String, String)>,
    help: bool,
}

impl Flags {
    /// Reads `--name value` pairs from the command line; an unknown name or a name without a
    /// value is an error that lists the known ones.
    pub fn from_env(known: &[&str]) -> BenchResult<Flags> {
        let mut pairs = Vec::new();
        let mut help = false;
        let mut args = std::env::args().skip(1);
        while let Some(name) = args.next() {
            if name == "--help" || name == "-h" {
                help = true;
                continue;
            }
            if !known.contains(&name.as_str()) {
                return Err(format!("unknown argument `{name}`; known: {}", known.join(", ")).into());
            }
            let value = args.next().ok_or_else(|| format!("`{name}` needs a value"))?;
            pairs.push((name, value));
        }
        Ok(Flags { pairs, help })
    }

    pub fn help(&self) -> bool {
        self.help
    }

    pub fn value(&self, name: &str) -> Option<&str> {
        self.pairs.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The flag's value parsed, or `default` when it is absent.
    pub fn parsed<T: FromStr>(&self, name: &str, default: T) -> BenchResult<T> {
        match self.value(name) {
            None => Ok(default),
            Some(text) => text.parse().map_err(|_| format!("`{name} {text}` is not a valid value").into()),
        }
    }

    /// A comma-separated list, e.g. `--concurrency 16,64,256`.
    pub fn list<T: FromStr + Clone>(&self, name: &str, default: &[T]) -> BenchResult<Vec<T>> {
        let Some(text) = self.value(name) else { return Ok(default.to_vec()) };
        text.split(',')
            .map(|part| part.trim().parse().map_err(|_| format!("`{name} {text}`: `{part}` is not valid").into()))
            .collect()
    }
}
