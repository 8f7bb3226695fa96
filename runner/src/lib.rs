//! The local runner: the whole product on one machine. SQLite under a data directory, the
//! in-process bus delivering to the points function before a webhook is answered, and every HTTP
//! function on one port. Tests start it in-process with `start`; the benchmark runs the binary.

mod demo;
mod erasure_subscriber;
mod mail_subscriber;
mod outbox_pages;
mod points_subscriber;
mod server;
mod ses_events;
pub mod settings;
mod sweeps;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use thiserror::Error;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use stammkunde_api::ApiService;
use stammkunde_domain::clock::Clock;
use stammkunde_domain::config::{AppConfig, ShopDirectory};
use stammkunde_domain::ports::{MailStore, Store};
use stammkunde_local::{InProcessBus, OutboxMailer};
use stammkunde_points::PointsService;
use stammkunde_preferences::{Pages, PreferencesService};
use stammkunde_services::mail::{MailRenderer, MailSweep, Pacer};
use stammkunde_services::privacy::Privacy;
use stammkunde_services::reconsent::Reconsent;
use stammkunde_services::{Coupons, LedgerService, LedgerSweep};
use stammkunde_shopware_admin::HttpShopwareAdmin;
use stammkunde_store_sqlite::SqliteStore;
use stammkunde_webhooks::WebhookService;

pub use settings::Settings;

/// Name of the SQLite file inside the data directory.
pub const DATABASE_FILE: &str = "stammkunde.sqlite3";
/// The outbox mailer's directory inside the data directory: one `.eml` file per mail.
pub const OUTBOX_DIR: &str = "outbox";

#[derive(Debug, Error)]
pub enum RunnerError {
    #[error("cannot read or write the configuration at {path}: {source}")]
    ConfigFile { path: String, source: std::io::Error },
    #[error("{path}: {source}")]
    Config { path: String, source: stammkunde_domain::config::ConfigError },
    #[error("cannot open the database")]
    Store(#[from] stammkunde_domain::error::StoreError),
    #[error("cannot create the outbox at {path}: {source}")]
    Outbox { path: String, source: std::io::Error },
    #[error("the mail templates are broken: {0}")]
    Templates(#[from] stammkunde_services::mail::render::RenderError),
    #[error("the preference page templates are broken: {0}")]
    PageTemplates(#[from] minijinja::Error),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
}

/// A running instance.
pub struct RunningApp {
    pub addr: SocketAddr,
    pub store: Arc<dyn Store>,
    /// The mail records (the same SQLite database).
    pub mail: Arc<dyn MailStore>,
    /// Where the mail sweep's messages go.
    pub outbox: Arc<OutboxMailer>,
    shutdown: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
}

impl RunningApp {
    /// Stops accepting requests and waits for the ones in flight.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.server).await;
    }

    /// Waits until the server ends (Ctrl-C in `main`).
    pub async fn wait(self) {
        let _ = self.server.await;
    }
}

/// Reads the configuration, writing the demo configuration first if there is none. Returns the
/// configuration and whether it was just created.
pub fn load_or_create_config(path: &Path) -> Result<(AppConfig, bool), RunnerError> {
    let shown = path.display().to_string();
    let created = !path.exists();
    if created {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| RunnerError::ConfigFile { path: shown.clone(), source })?;
        }
        std::fs::write(path, demo::demo_config())
            .map_err(|source| RunnerError::ConfigFile { path: shown.clone(), source })?;
    }
    let text =
        std::fs::read_to_string(path).map_err(|source| RunnerError::ConfigFile { path: shown.clone(), source })?;
    let config = AppConfig::from_toml(&text).map_err(|source| RunnerError::Config { path: shown, source })?;
    Ok((config, created))
}

/// Starts every function on `settings.addr` (port 0 picks a free port).
pub async fn start(settings: &Settings, config: AppConfig, clock: Arc<dyn Clock>) -> Result<RunningApp, RunnerError> {
    let sqlite = Arc::new(SqliteStore::open(&settings.data_dir.join(DATABASE_FILE), clock.clone())?);
    let store: Arc<dyn Store> = sqlite.clone();
    let sqlite_mail: Arc<dyn MailStore> = sqlite.clone();
    let shops = Arc::new(ShopDirectory::new(config));
    let bus = Arc::new(InProcessBus::new());
    let ledger = Arc::new(LedgerService {
        ledger: sqlite.clone(),
        timers: sqlite.clone(),
        bus: bus.clone(),
        clock: clock.clone(),
    });
    let points = Arc::new(PointsService {
        shops: shops.clone(),
        ledger: ledger.clone(),
        customers: sqlite.clone(),
        codes: sqlite.clone(),
    });
    bus.subscribe(Arc::new(points_subscriber::PointsSubscriber(points)));
    let sweep = LedgerSweep {
        ledger: ledger.clone(),
        timers: sqlite.clone(),
        customers: sqlite.clone(),
        shops: sqlite.clone(),
        clock: clock.clone(),
    };

    let listener = tokio::net::TcpListener::bind(settings.addr)
        .await
        .map_err(|source| RunnerError::Listen { addr: settings.addr, source })?;
    let addr = listener.local_addr().map_err(|source| RunnerError::Listen { addr: settings.addr, source })?;
    let public_url = settings.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
    let outbox_dir = settings.data_dir.join(OUTBOX_DIR);
    let outbox = Arc::new(
        OutboxMailer::new(&outbox_dir)
            .map_err(|source| RunnerError::Outbox { path: outbox_dir.display().to_string(), source })?,
    );
    let coupons = Arc::new(Coupons::new(sqlite.clone()));
    let mail_sweep = Arc::new(MailSweep {
        customers: sqlite.clone(),
        mail: sqlite.clone(),
        codes: sqlite.clone(),
        ledger: sqlite.clone(),
        marks: sqlite.clone(),
        coupons: coupons.clone(),
        mailer: outbox.clone(),
        clock: clock.clone(),
        renderer: Arc::new(MailRenderer::new()?),
        public_url: public_url.clone(),
        pacer: Pacer::default(),
    });
    bus.subscribe(Arc::new(mail_subscriber::MailSubscriber { shops: shops.clone(), mail: mail_sweep.clone() }));
    let ses_events = ses_events::SesEvents::new(shops.clone(), sqlite.clone(), clock.clone());
    // The outbox is the one copy of sent mail we keep: erasure clears it too.
    let privacy = Arc::new(Privacy::over(sqlite.clone(), outbox.clone(), clock.clone()));
    bus.subscribe(Arc::new(erasure_subscriber::ErasureSubscriber { privacy: privacy.clone() }));
    let reconsent = Arc::new(Reconsent::over(sqlite.clone(), clock.clone()));
    let functions = Arc::new(server::Functions {
        webhooks: WebhookService {
            shops: shops.clone(),
            store: store.clone(),
            bus: bus.clone(),
            clock: clock.clone(),
            shopware_admin: Arc::new(HttpShopwareAdmin::new()),
            public_url: Some(public_url),
            privacy: privacy.clone(),
        },
        preferences: PreferencesService {
            shops: shops.clone(),
            store: sqlite.clone(),
            mail: sqlite.clone(),
            consent: sqlite.clone(),
            privacy: privacy.clone(),
            bus: bus.clone(),
            clock: clock.clone(),
            pages: Arc::new(Pages::new()?),
        },
        api: ApiService {
            shops: shops.clone(),
            store: store.clone(),
            ledger,
            coupons,
            clock,
            mail: sqlite.clone(),
            consent: sqlite.clone(),
            bus,
            privacy,
            reconsent,
        },
        sweeps: sweeps::Sweeps { shops, ledger: sweep, mail: mail_sweep },
        outbox: outbox.clone(),
        ses_events,
    });
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let app = server::router(functions).into_make_service_with_connect_info::<std::net::SocketAddr>();
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = rx.await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "server stopped");
        }
    });
    Ok(RunningApp { addr, store, mail: sqlite_mail, outbox, shutdown: Some(tx), server })
}
