//! Where the runner listens and keeps its data, from the environment:
//!
//! | variable | default |
//! |---|---|
//! | `STAMMKUNDE_ADDR` | `127.0.0.1:3000` |
//! | `STAMMKUNDE_DATA_DIR` | `.data` (the SQLite database lives here) |
//! | `STAMMKUNDE_CONFIG` | `stammkunde.toml` (written with demo shops if missing) |
//! | `STAMMKUNDE_PUBLIC_URL` | `http://{addr}` (for the Shopware confirmation URL) |

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Clone, Debug)]
pub struct Settings {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub config_path: PathBuf,
    pub public_url: Option<String>,
}

impl Settings {
    pub fn from_env() -> Result<Settings, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let addr = var("STAMMKUNDE_ADDR").unwrap_or_else(|| "127.0.0.1:3000".into());
        let addr = addr.parse().map_err(|_| format!("STAMMKUNDE_ADDR `{addr}` is not host:port"))?;
        Ok(Settings {
            addr,
            data_dir: var("STAMMKUNDE_DATA_DIR").unwrap_or_else(|| ".data".into()).into(),
            config_path: var("STAMMKUNDE_CONFIG").unwrap_or_else(|| "stammkunde.toml".into()).into(),
            public_url: var("STAMMKUNDE_PUBLIC_URL"),
        })
    }
}
