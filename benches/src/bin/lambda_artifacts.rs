//! `lambda_artifacts`: what the Lambda functions ship and how fast they start.
//!
//! (a) The size of each `target/lambda/<fn>/bootstrap.zip` (`cargo lambda build --release
//!     --output-format zip`) and of the binary inside it.
//! (b) Cold start: from process start to the first `GET /2018-06-01/runtime/invocation/next`,
//!     which a function makes once its `main` has built every client and loaded the shop
//!     configuration from Secrets Manager. A small Lambda Runtime API emulator in this process
//!     takes that poll; DynamoDB, EventBridge and Secrets Manager are a moto_server on 127.0.0.1.
//! (c) One real invocation of the webhooks function: an API Gateway v2 event carrying a signed
//!     Shopify `orders/paid` (base64 body) must come back as a 200 with status `accepted`, and the
//!     order and delivery record must be in the table.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use http::StatusCode;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;

use stammkunde_aws::dynamo::schema::{delivery_key, order_key, Key};
use stammkunde_bench::args::Flags;
use stammkunde_bench::child::ChildGuard;
use stammkunde_bench::moto::{sdk_config, REGION};
use stammkunde_bench::orders::ORDERS_PAID;
use stammkunde_bench::shop::{config_toml, shopify_signature, SHOP_DOMAIN, SHOP_ID, TOPIC};
use stammkunde_bench::stats::{mib, ms, Latencies};
use stammkunde_bench::table::Table;
use stammkunde_bench::{procfs, run_main, workspace_root, BenchResult};
use stammkunde_domain::ids::{DeliveryId, OrderId, ShopId};

const FUNCTIONS: [&str; 7] =
    ["webhooks", "points", "api", "ledger-sweep", "mail-sweep", "mail-feedback", "preferences"];
/// What `infra/template.yaml` gives the mail sweep besides the common variables: where the
/// preference centre is reached, for the links in every mail. Its `main` refuses to start without.
const MAIL_SWEEP_PUBLIC_URL: &str = "https://prefs.bench-shop.example";
const FLAGS: [&str; 3] = ["--lambda-dir", "--runs", "--moto"];
const USAGE: &str = "usage: lambda_artifacts [--lambda-dir target/lambda] [--runs 10] [--moto http://127.0.0.1:5055]";

const TARGET_ZIP_BYTES: u64 = 6 * 1024 * 1024;
const TARGET_COLD_START: Duration = Duration::from_millis(20);

const RUNS_MAX: usize = 50;
const MEMORY_MB: &str = "256";
/// Lambda allocates CPU in proportion to memory, one vCPU at 1,769 MB.
const LAMBDA_VCPU_AT_MEMORY: f64 = 256.0 / 1769.0;
/// How long a bootstrap may take to poll (or answer) before the run counts as failed.
const POLL_TIMEOUT: Duration = Duration::from_secs(10);
const EXIT_CHECK_INTERVAL: Duration = Duration::from_millis(5);
const SIGNALS_MAX: usize = 16;
const SECRET_ROUND_TRIPS: usize = 5;
const WEBHOOK_ID: &str = "bench-lambda-e2e-1";
/// The fixture's order id, which the end-to-end invocation stores.
const FIXTURE_ORDER_ID: &str = "5912345678901";
const REQUEST_ID: &str = "bench-request-1";

struct Options {
    lambda_dir: PathBuf,
    runs: usize,
    moto: String,
}

fn main() -> ExitCode {
    run_main("lambda_artifacts", USAGE, options(), run)
}

fn options() -> BenchResult<Option<Options>> {
    let flags = Flags::from_env(&FLAGS)?;
    if flags.help() {
        return Ok(None);
    }
    let runs = flags.parsed("--runs", 10)?;
    if !(1..=RUNS_MAX).contains(&runs) {
        return Err(format!("--runs must be 1..={RUNS_MAX}").into());
    }
    Ok(Some(Options {
        lambda_dir: flags
            .value("--lambda-dir")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join("target/lambda")),
        runs,
        moto: flags.value("--moto").unwrap_or("http://127.0.0.1:5055").to_owned(),
    }))
}

async fn run(options: Options) -> BenchResult<()> {
    println!("lambda_artifacts: bootstrap.zip sizes, cold starts and one end-to-end invocation\n");
    let work = tempfile::Builder::new().prefix("stammkunde-lambda-bench-").tempdir()?;
    let artifacts = unpack_artifacts(&options.lambda_dir, work.path())?;
    print_sizes(&options.lambda_dir, &artifacts);
    let aws = Moto::create(&options.moto).await?;
    let measured = measure(&options, &artifacts, &aws, work.path()).await;
    aws.delete().await;
    let (cold_starts, secret_round_trip, invocation) = measured?;
    print_cold_starts(&options, &cold_starts, &secret_round_trip);
    print_invocation(&invocation);
    Ok(())
}

async fn measure(
    options: &Options,
    artifacts: &[Artifact],
    aws: &Moto,
    work: &Path,
) -> BenchResult<(Vec<ColdStarts>, Latencies, Invocation)> {
    let mut cold_starts = Vec::new();
    for artifact in artifacts {
        let mut runs =
            ColdStarts { function: artifact.function, wall: Latencies::default(), cpu: Latencies::default() };
        for run in 0..options.runs {
            let log = work.join(format!("{}-{run}.log", artifact.function));
            let measured = cold_start(artifact, aws, &log).await?;
            runs.wall.push(measured.wall);
            runs.cpu.push(measured.cpu);
        }
        cold_starts.push(runs);
    }
    let secret_round_trip = secret_round_trips(aws).await?;
    let webhooks = artifacts.iter().find(|a| a.function == "webhooks").ok_or("no webhooks artifact")?;
    let invocation = invoke_webhooks(webhooks, aws, &work.join("webhooks-invoke.log")).await?;
    Ok((cold_starts, secret_round_trip, invocation))
}

/// One function's cold starts.
struct ColdStarts {
    function: &'static str,
    wall: Latencies,
    cpu: Latencies,
}

// ---------------------------------------------------------------------------------------------
// (a) Artifacts.

struct Artifact {
    function: &'static str,
    zip_bytes: u64,
    binary_bytes: u64,
    binary: PathBuf,
}

/// Unzips each function's `bootstrap.zip` into `work`: what is measured is what would be deployed.
fn unpack_artifacts(lambda_dir: &Path, work: &Path) -> BenchResult<Vec<Artifact>> {
    let mut artifacts = Vec::new();
    for function in FUNCTIONS {
        let zip = lambda_dir.join(function).join("bootstrap.zip");
        let zip_bytes = std::fs::metadata(&zip)
            .map_err(|e| {
                format!(
                    "{}: {e}; build the artifacts first: PATH=/tmp/venv/bin:$PATH cargo lambda build --release --output-format zip",
                    zip.display()
                )
            })?
            .len();
        let dir = work.join(function);
        std::fs::create_dir_all(&dir)?;
        let status = Command::new("unzip").arg("-o").arg("-q").arg(&zip).arg("-d").arg(&dir).status()?;
        if !status.success() {
            return Err(format!("unzip {} failed ({status})", zip.display()).into());
        }
        let binary = dir.join("bootstrap");
        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755))?;
        let binary_bytes = std::fs::metadata(&binary)?.len();
        artifacts.push(Artifact { function, zip_bytes, binary_bytes, binary });
    }
    Ok(artifacts)
}

// ---------------------------------------------------------------------------------------------
// The AWS side, on moto: a secret with the shop configuration, the table and the bus.

struct Moto {
    endpoint: String,
    sdk: SdkConfig,
    /// Secret, table and bus share this name, unique per run.
    name: String,
}

impl Moto {
    async fn create(endpoint: &str) -> BenchResult<Moto> {
        let millis = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
        let name = format!("stammkunde-bench-{}-{millis}", std::process::id());
        let moto = Moto { endpoint: endpoint.to_owned(), sdk: sdk_config(endpoint).await, name };
        if let Err(e) = moto.create_resources().await {
            moto.delete().await;
            return Err(format!(
                "setting up on moto at {endpoint} failed (start it with: nohup /tmp/venv/bin/moto_server -H 127.0.0.1 -p 5055 > /tmp/moto.log 2>&1 &): {e}"
            )
            .into());
        }
        Ok(moto)
    }

    async fn create_resources(&self) -> BenchResult<()> {
        let secrets = aws_sdk_secretsmanager::Client::new(&self.sdk);
        secrets.create_secret().name(&self.name).secret_string(config_toml()).send().await?;
        stammkunde_aws::dynamo::create_table(&aws_sdk_dynamodb::Client::new(&self.sdk), &self.name).await?;
        aws_sdk_eventbridge::Client::new(&self.sdk).create_event_bus().name(&self.name).send().await?;
        Ok(())
    }

    /// Best effort: whatever exists is removed, whatever fails is reported and left.
    async fn delete(&self) {
        let table = aws_sdk_dynamodb::Client::new(&self.sdk).delete_table().table_name(&self.name).send().await;
        let bus = aws_sdk_eventbridge::Client::new(&self.sdk).delete_event_bus().name(&self.name).send().await;
        let secret = aws_sdk_secretsmanager::Client::new(&self.sdk)
            .delete_secret()
            .secret_id(&self.name)
            .force_delete_without_recovery(true)
            .send()
            .await;
        if table.is_err() || bus.is_err() || secret.is_err() {
            eprintln!("note: some moto resources named {} could not be deleted", self.name);
        }
    }

    async fn stored(&self, key: &Key) -> BenchResult<bool> {
        let out = aws_sdk_dynamodb::Client::new(&self.sdk)
            .get_item()
            .table_name(&self.name)
            .key("pk", AttributeValue::S(key.pk.clone()))
            .key("sk", AttributeValue::S(key.sk.clone()))
            .consistent_read(true)
            .send()
            .await?;
        Ok(out.item.is_some())
    }
}

/// A fresh SDK configuration and client, then GetSecretValue: the part of every cold start that
/// is moto and the network, measured from this process.
async fn secret_round_trips(aws: &Moto) -> BenchResult<Latencies> {
    let mut latencies = Latencies::default();
    for _ in 0..SECRET_ROUND_TRIPS {
        let started = Instant::now();
        let client = aws_sdk_secretsmanager::Client::new(&sdk_config(&aws.endpoint).await);
        client.get_secret_value().secret_id(&aws.name).send().await?;
        latencies.push(started.elapsed());
    }
    Ok(latencies)
}

// ---------------------------------------------------------------------------------------------
// The Lambda Runtime API emulator.

enum Signal {
    NextPolled(Instant),
    Response(Instant, String),
    Error(String),
}

#[derive(Clone)]
struct Emulator {
    signals: mpsc::Sender<Signal>,
    /// The event the first `/next` hands out; later polls (and every poll when `None`) wait
    /// until the process is killed, as an idle Lambda sandbox does.
    event: Arc<Mutex<Option<String>>>,
    function: &'static str,
}

struct RunningEmulator {
    addr: SocketAddr,
    signals: mpsc::Receiver<Signal>,
    server: JoinHandle<()>,
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn start_emulator(function: &'static str, event: Option<String>) -> BenchResult<RunningEmulator> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (sender, signals) = mpsc::channel(SIGNALS_MAX);
    let state = Emulator { signals: sender, event: Arc::new(Mutex::new(event)), function };
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(invocation_response))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(invocation_error))
        .route("/2018-06-01/runtime/init/error", post(invocation_error))
        .with_state(state);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(RunningEmulator { addr, signals, server })
}

async fn next_invocation(State(emulator): State<Emulator>) -> Response {
    let _ = emulator.signals.try_send(Signal::NextPolled(Instant::now()));
    let event = emulator.event.lock().ok().and_then(|mut event| event.take());
    let Some(event) = event else {
        return std::future::pending::<Response>().await;
    };
    let deadline_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis()) + 30_000;
    let arn = format!("arn:aws:lambda:{REGION}:123456789012:function:{}", emulator.function);
    let headers = [
        ("lambda-runtime-aws-request-id", REQUEST_ID.to_owned()),
        ("lambda-runtime-deadline-ms", deadline_ms.to_string()),
        ("lambda-runtime-invoked-function-arn", arn),
        ("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000;Sampled=0".to_owned()),
        ("content-type", "application/json".to_owned()),
    ];
    let mut response = (StatusCode::OK, event).into_response();
    for (name, value) in headers {
        if let Ok(value) = http::HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

async fn invocation_response(State(emulator): State<Emulator>, body: Bytes) -> StatusCode {
    let _ = emulator.signals.try_send(Signal::Response(Instant::now(), String::from_utf8_lossy(&body).into_owned()));
    StatusCode::ACCEPTED
}

async fn invocation_error(State(emulator): State<Emulator>, body: Bytes) -> StatusCode {
    let _ = emulator.signals.try_send(Signal::Error(String::from_utf8_lossy(&body).into_owned()));
    StatusCode::ACCEPTED
}

/// Waits for the first signal `wanted` accepts; an error report, an exit or the timeout fails.
async fn wait_for(
    emulator: &mut RunningEmulator,
    child: &mut ChildGuard,
    wanted: fn(&Signal) -> bool,
) -> BenchResult<Signal> {
    let deadline = Instant::now() + POLL_TIMEOUT;
    loop {
        tokio::select! {
            signal = emulator.signals.recv() => match signal {
                Some(Signal::Error(text)) => return Err(format!("the function reported an error: {text}\n{}", child.log_tail()).into()),
                Some(signal) if wanted(&signal) => return Ok(signal),
                Some(_) => {}
                None => return Err("the runtime API emulator stopped".into()),
            },
            () = tokio::time::sleep(EXIT_CHECK_INTERVAL) => {
                if let Some(status) = child.exited() {
                    return Err(format!("the bootstrap exited ({status}):\n{}", child.log_tail()).into());
                }
                if Instant::now() > deadline {
                    return Err(format!("no answer within {POLL_TIMEOUT:?}:\n{}", child.log_tail()).into());
                }
            }
        }
    }
}

/// The environment Lambda gives a `provided.al2023` function, plus what ours need (as
/// `infra/template.yaml` sets it).
fn lambda_command(artifact: &Artifact, aws: &Moto, runtime_api: SocketAddr) -> Command {
    let function = artifact.function;
    let mut command = Command::new(&artifact.binary);
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", MEMORY_MB)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{function}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "stammkunde-bench")
        .env("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023")
        .env("LAMBDA_TASK_ROOT", artifact.binary.parent().unwrap_or(Path::new("/")))
        .env("_HANDLER", "bootstrap")
        .env("TZ", ":UTC")
        .env("AWS_REGION", REGION)
        .env("AWS_DEFAULT_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_SESSION_TOKEN", "testing")
        .env("AWS_ENDPOINT_URL", &aws.endpoint)
        .env("STAMMKUNDE_TABLE", &aws.name)
        .env("STAMMKUNDE_BUS", &aws.name)
        .env("STAMMKUNDE_CONFIG_SECRET", &aws.name);
    if function == "mail-sweep" {
        command.env("STAMMKUNDE_PUBLIC_URL", MAIL_SWEEP_PUBLIC_URL);
    }
    command
}

// ---------------------------------------------------------------------------------------------
// (b) Cold start and (c) one invocation.

/// A cold start's wall time and the CPU time the process used until its first poll (read while
/// it waits for the answer, so it uses no more).
struct ColdStart {
    wall: Duration,
    cpu: Duration,
}

async fn cold_start(artifact: &Artifact, aws: &Moto, log: &Path) -> BenchResult<ColdStart> {
    let mut emulator = start_emulator(artifact.function, None).await?;
    let mut child = ChildGuard::spawn(lambda_command(artifact, aws, emulator.addr), log)?;
    let polled = wait_for(&mut emulator, &mut child, |s| matches!(s, Signal::NextPolled(_))).await;
    let cpu = procfs::cpu_time_precise(child.pid());
    child.kill();
    match polled.map_err(|e| format!("{} cold start: {e}", artifact.function))? {
        Signal::NextPolled(at) => Ok(ColdStart {
            wall: at.saturating_duration_since(child.started_at()),
            cpu: cpu.ok_or("cannot read the bootstrap's CPU time from /proc")?,
        }),
        _ => Err("unexpected signal".into()),
    }
}

struct Invocation {
    cold_start: Duration,
    handled: Duration,
    body_bytes: usize,
    status_code: i64,
    reply: String,
    order_stored: bool,
    delivery_stored: bool,
}

async fn invoke_webhooks(artifact: &Artifact, aws: &Moto, log: &Path) -> BenchResult<Invocation> {
    let body = ORDERS_PAID.as_bytes();
    let mut emulator = start_emulator(artifact.function, Some(api_gateway_event(body).to_string())).await?;
    let mut child = ChildGuard::spawn(lambda_command(artifact, aws, emulator.addr), log)?;
    let polled = wait_for(&mut emulator, &mut child, |s| matches!(s, Signal::NextPolled(_))).await?;
    let answered = wait_for(&mut emulator, &mut child, |s| matches!(s, Signal::Response(..))).await?;
    child.kill();
    let (Signal::NextPolled(polled_at), Signal::Response(answered_at, text)) = (polled, answered) else {
        return Err("unexpected signals".into());
    };
    let response: serde_json::Value = serde_json::from_str(&text)?;
    let status_code = response.get("statusCode").and_then(serde_json::Value::as_i64).unwrap_or(0);
    let reply = response_body(&response)?;
    let shop = ShopId::parse(SHOP_ID)?;
    let order_stored = aws.stored(&order_key(&shop, &OrderId::parse(FIXTURE_ORDER_ID)?)).await?;
    let delivery_stored =
        aws.stored(&delivery_key(&shop, &DeliveryId::parse(&format!("webhook:{WEBHOOK_ID}"))?)).await?;
    let status = serde_json::from_str::<serde_json::Value>(&reply).ok().and_then(|v| v.get("status").cloned());
    if status_code != 200 || status != Some(serde_json::Value::from("accepted")) || !order_stored || !delivery_stored {
        return Err(format!(
            "end-to-end invocation failed: statusCode {status_code}, body {reply}, order stored {order_stored}, delivery stored {delivery_stored}\n{}",
            child.log_tail()
        )
        .into());
    }
    Ok(Invocation {
        cold_start: polled_at.saturating_duration_since(child.started_at()),
        handled: answered_at.saturating_duration_since(polled_at),
        body_bytes: body.len(),
        status_code,
        reply,
        order_stored,
        delivery_stored,
    })
}

/// The body of an API Gateway (v2) proxy response, decoded if base64.
fn response_body(response: &serde_json::Value) -> BenchResult<String> {
    let body = response.get("body").and_then(serde_json::Value::as_str).unwrap_or_default();
    if response.get("isBase64Encoded").and_then(serde_json::Value::as_bool) == Some(true) {
        let bytes = base64::engine::general_purpose::STANDARD.decode(body)?;
        return Ok(String::from_utf8_lossy(&bytes).into_owned());
    }
    Ok(body.to_owned())
}

/// What API Gateway's HTTP API sends for a Shopify delivery: headers lower-cased, the body base64.
fn api_gateway_event(body: &[u8]) -> serde_json::Value {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    serde_json::json!({
        "version": "2.0",
        "routeKey": "POST /webhooks/shopify",
        "rawPath": "/webhooks/shopify",
        "rawQueryString": "",
        "headers": {
            "content-type": "application/json",
            "host": "bench.execute-api.eu-central-1.amazonaws.com",
            "x-shopify-shop-domain": SHOP_DOMAIN,
            "x-shopify-topic": TOPIC,
            "x-shopify-api-version": "2025-07",
            "x-shopify-hmac-sha256": shopify_signature(body),
            "x-shopify-webhook-id": WEBHOOK_ID,
            "x-forwarded-proto": "https"
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "domainName": "bench.execute-api.eu-central-1.amazonaws.com",
            "domainPrefix": "bench",
            "http": {
                "method": "POST",
                "path": "/webhooks/shopify",
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": "Shopify-Captain-Hook"
            },
            "requestId": REQUEST_ID,
            "routeKey": "POST /webhooks/shopify",
            "stage": "$default",
            "time": "23/Nov/2026:08:00:00 +0000",
            "timeEpoch": now
        },
        "body": base64::engine::general_purpose::STANDARD.encode(body),
        "isBase64Encoded": true
    })
}

// ---------------------------------------------------------------------------------------------
// Printing.

fn verdict(met: bool) -> String {
    if met { "meets" } else { "misses" }.to_owned()
}

fn print_sizes(lambda_dir: &Path, artifacts: &[Artifact]) {
    println!("(a) artifacts in {} (cargo lambda build --release --output-format zip)", lambda_dir.display());
    let mut table = Table::new(&["function", "bootstrap.zip", "bootstrap (unzipped)", "target", ""]);
    for a in artifacts {
        table.row(vec![
            a.function.to_owned(),
            mib(a.zip_bytes),
            mib(a.binary_bytes),
            format!("≤ {}", mib(TARGET_ZIP_BYTES)),
            verdict(a.zip_bytes <= TARGET_ZIP_BYTES),
        ]);
    }
    table.print();
}

fn print_cold_starts(options: &Options, cold_starts: &[ColdStarts], secret: &Latencies) {
    println!(
        "\n(b) cold start: process start → first GET /2018-06-01/runtime/invocation/next ({} runs each, moto at {})",
        options.runs, options.moto
    );
    let mut table = Table::new(&["function", "median", "min", "max", "target", "", "CPU until poll", "CPU at 256 MB"]);
    for runs in cold_starts {
        let (wall, cpu) = (runs.wall.summary(), runs.cpu.summary());
        let cpu_median = cpu.quantile(0.5);
        table.row(vec![
            runs.function.to_owned(),
            ms(wall.quantile(0.5)),
            ms(wall.quantile(0.0)),
            ms(wall.max()),
            format!("≤ {}", ms(TARGET_COLD_START)),
            verdict(wall.quantile(0.5) <= TARGET_COLD_START),
            ms(cpu_median),
            format!("≈ {}", ms(cpu_median.div_f64(LAMBDA_VCPU_AT_MEMORY))),
        ]);
    }
    table.print();
    let s = secret.summary();
    println!(
        "(each includes loading the SDK config and one GetSecretValue from moto; that alone, fresh client from this process: \
         median {}, max {}.\n CPU until poll: all threads, from /proc/<pid>/task/*/schedstat. CPU at {MEMORY_MB} MB: that CPU time \
         at the {LAMBDA_VCPU_AT_MEMORY:.3} vCPU Lambda gives {MEMORY_MB} MB (1 vCPU at 1,769 MB), an estimate, not a measurement.)",
        ms(s.quantile(0.5)),
        ms(s.max())
    );
}

fn print_invocation(invocation: &Invocation) {
    println!(
        "\n(c) webhooks end to end: API Gateway v2 event, signed orders/paid, {} bytes base64-encoded",
        invocation.body_bytes
    );
    println!(
        "  cold start {}, then handled in {} (BatchGetItem, GetItem, PutItem ×2, UpdateItem, PutEvents on moto)",
        ms(invocation.cold_start),
        ms(invocation.handled)
    );
    println!(
        "  /response: statusCode {}, body {}; order item stored: {}, delivery record stored: {}",
        invocation.status_code, invocation.reply, invocation.order_stored, invocation.delivery_stored
    );
}
