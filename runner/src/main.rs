//! `cargo run --release`: the whole product on one local port.

use std::sync::Arc;

use stammkunde::{load_or_create_config, start, Settings};
use stammkunde_domain::clock::SystemClock;
use stammkunde_domain::config::AppConfig;

/// Parsing a webhook builds a JSON tree of many small allocations, freed on another thread than
/// the one that allocated them when the request hops between workers; glibc's allocator spent a
/// fifth of the server's CPU there under webhook load, mimalloc a fraction of that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .compact()
        .init();
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("stammkunde: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let settings = Settings::from_env()?;
    let (config, created) = load_or_create_config(&settings.config_path).map_err(|e| e.to_string())?;
    let app = start(&settings, config.clone(), Arc::new(SystemClock)).await.map_err(|e| e.to_string())?;
    print_welcome(&settings, &config, created, app.addr);
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = app.wait() => {}
    }
    Ok(())
}

/// Tells the person who just started us where to point their shops.
fn print_welcome(settings: &Settings, config: &AppConfig, created: bool, addr: std::net::SocketAddr) {
    let base = settings.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
    println!("Stammkunde is running on {base}");
    println!("  data:   {}", settings.data_dir.display());
    println!("  config: {}{}", settings.config_path.display(), if created { " (demo shops written)" } else { "" });
    println!("\nWebhook URLs:");
    println!("  Shopify      POST {base}/webhooks/shopify");
    println!("  WooCommerce  POST {base}/webhooks/woocommerce");
    println!("  Shopware     POST {base}/webhooks/shopware   (register the app at GET {base}/webhooks/shopware/registration)");
    println!("\nShops:");
    for shop in &config.shops {
        println!("  {:<18} {:<12} domain {}", shop.id.as_str(), shop.platform.as_str(), shop.domain);
        if created {
            // Printed once, to the terminal that created them, so the demo can be tried at once.
            println!("  {:<18} webhook_secret {}  api_key {}", "", shop.webhook_secret.expose(), shop.api_key.expose());
        }
    }
    println!(
        "\nMerchant API: GET {base}/api/shops/{{shop}}/customers/{{customer}} with `Authorization: Bearer <api_key>`"
    );
}
