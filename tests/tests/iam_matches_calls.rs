//! Each function's IAM policy in `infra/template.yaml` grants exactly what its code calls.
//!
//! Every function is built the way its `main.rs` builds it (`LambdaEnvironment` from Secrets
//! Manager, the DynamoDB store, the EventBridge bus, the SES v2 mailer), except that every SDK
//! client carries an interceptor recording each request it sends to moto, and the clock is the
//! test's. Each is then driven through its real flows: signed webhooks of every platform through
//! the webhooks function, the events they published through the points function, every merchant
//! API route (including a redemption from a pool, a generated code, and a pooled code given back
//! after its redemption lost a race), the ledger sweep with due customers and after a tier rule
//! change, and the mail sweep: a birthday mail and a win-back mail due the same day whose claims
//! are released when SES cannot be reached, then the birthday mail sent, the win-back mail
//! deferred by the frequency cap in the continuation the sweep re-queued for itself, and sent from
//! the deferred index once the cap frees; the mail feedback function with SES's hard and soft
//! bounce events; and Shopify's `shop/redact`, whose erasure the ledger sweep function does.
//!
//! The requests become IAM permissions (action and resource): a TransactWriteItems is authorised
//! per contained action (`dynamodb:PutItem`, `UpdateItem`, `DeleteItem`, `ConditionCheckItem`), a
//! Query on an index needs that index's ARN (granted index by index, never `index/*`), an SES v2
//! SendEmail needs `ses:SendEmail` and `ses:SendRawEmail` on the sending identity (the sender's
//! domain) and on the configuration set it names. Those must equal what the function's `Policies`
//! grant (SAM policy templates expanded as aws-sam-translator does: `EventBridgePutEventsPolicy` is
//! `events:PutEvents` on the bus, `SQSSendMessagePolicy` is `sqs:SendMessage*` on the queue), plus
//! what Lambda itself does with the role: `sqs:SendMessage` to an `EventInvokeConfig` SQS
//! destination, which SAM grants by itself. A permission missing fails the test (the function
//! would be refused on AWS), and so does one granted but never used. Grants match by equality,
//! with exactly two exceptions (see `covers`): SES `identity/*` and `configuration-set/*` of the
//! stack's account, since shops name their sender and configuration set in the configuration
//! secret, not in the template.
//!
//! Needs moto (see `dynamo_pipeline.rs`): `cargo test -p stammkunde-e2e --test iam_matches_calls`.

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents, SharedInterceptor};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use bytes::Bytes;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};
use serde_yaml::Value as Yaml;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use stammkunde_api::ApiService;
use stammkunde_aws::dynamo::create_table;
use stammkunde_aws::ses::SesMailer;
use stammkunde_aws::{DynamoStore, LambdaEnvironment, ResourceNames};
use stammkunde_domain::clock::FixedClock;
use stammkunde_domain::customer::{Birthday, CustomerProfile, Email};
use stammkunde_domain::error::BusError;
use stammkunde_domain::events::DomainEvent;
use stammkunde_domain::ids::{CustomerId, DeliveryId, ShopId};
use stammkunde_domain::ingest::{Change, DeliveryRecord};
use stammkunde_domain::mail::link::{token_digest, LinkToken};
use stammkunde_domain::mail::{Campaign, MailContact, SendState};
use stammkunde_domain::ports::{CustomerStore, EventBus, IngestStore, MailStore};
use stammkunde_e2e::*;
use stammkunde_ledger_sweep::{SweepFunction, SweepInput, ERASURE_BATCHES_PER_INVOCATION, PAGES_PER_INVOCATION};
use stammkunde_mail_feedback::{FeedbackFunction, FeedbackOutcome};
use stammkunde_mail_sweep::{SweepFunction as MailSweepFunction, SweepInput as MailSweepInput};
use stammkunde_points::PointsService;
use stammkunde_preferences::{Pages, PreferencesService};
use stammkunde_services::mail::feedback::MailFeedback;
use stammkunde_services::mail::{MailRenderer, MailSweep, MailSweepReport, Pacer};
use stammkunde_services::privacy::{NoMailArchive, Privacy};
use stammkunde_services::reconsent::Reconsent;
use stammkunde_services::{Coupons, LedgerService, LedgerSweep};
use stammkunde_shopware_admin::HttpShopwareAdmin;
use stammkunde_webhooks::WebhookService;

const TEMPLATE: &str = include_str!("../../infra/template.yaml");
const SHOPIFY_PAID: &[u8] = include_bytes!("../../fixtures/webhooks/shopify/orders_paid.json");
const SHOPIFY_REFUND: &[u8] = include_bytes!("../../fixtures/webhooks/shopify/refunds_create.json");
const SHOPIFY_CUSTOMER: &[u8] = include_bytes!("../../fixtures/webhooks/shopify/customers_create.json");
const SHOPIFY_DATA_REQUEST: &[u8] = include_bytes!("../../fixtures/webhooks/shopify/customers_data_request.json");
const SHOPIFY_REDACT: &[u8] = include_bytes!("../../fixtures/webhooks/shopify/customers_redact.json");
const WOO_ORDER: &[u8] = include_bytes!("../../fixtures/webhooks/woocommerce/order_processing.json");
const SHOPWARE_PLACED: &[u8] = include_bytes!("../../fixtures/webhooks/shopware/checkout_order_placed.json");
/// The Shopify fixtures' customer and a product of the paid order.
const CUSTOMER: &str = "7654321098765";
const PRODUCT: &str = "8801234567001";
/// The customer `customers/create` creates, deleted again by `customers/delete`.
const NEW_CUSTOMER: &str = "7654321099001";

/// The functions of the template and the binary whose wiring this test repeats.
const FUNCTIONS: [(&str, &str); 7] = [
    ("WebhooksFunction", "webhooks"),
    ("PointsFunction", "points"),
    ("ApiFunction", "api"),
    ("LedgerSweepFunction", "ledger-sweep"),
    ("MailSweepFunction", "mail-sweep"),
    ("MailFeedbackFunction", "mail-feedback"),
    ("PreferencesFunction", "preferences"),
];

/// One minute after the Shopware fixture's order event was sent (its envelope `timestamp`).
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 9, 32, 8).single().unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// What the code calls: every request an SDK client sends, recorded before it goes out.

/// A resource of the stack, as the template names it and as a request addresses it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Resource {
    Table,
    /// `${Table.Arn}/index/{name}`: what a Query on an index is authorised against (`*` stands
    /// for every index, which no request needs).
    Index(String),
    Bus,
    ConfigSecret,
    /// Another resource of the stack (the dead-letter queue), by logical id.
    Other(String),
    /// `identity/{name}` in SES: the verified domain (or address) a mail is sent from.
    SesIdentity(String),
    /// `configuration-set/{name}` in SES, as a SendEmail names it.
    SesConfigurationSet(String),
    /// `identity/*` of the stack's account and region, as granted: any identity.
    AnySesIdentity,
    /// `configuration-set/*` of the stack's account and region, as granted: any configuration set.
    AnySesConfigurationSet,
}

/// An IAM action on a resource.
type Permission = (String, Resource);

#[derive(Debug)]
struct Call {
    /// `{service}.{operation}`: the `X-Amz-Target` header of the JSON protocols (DynamoDB,
    /// EventBridge, Secrets Manager), or the operation's metadata (`SESv2.SendEmail`) for a REST
    /// protocol, whose requests name the operation only by path and method.
    target: String,
    body: Value,
}

/// Holds one request before it is sent, until the test lets it go (see `Recorder::pause_before`).
#[derive(Debug)]
struct Pause {
    operation: &'static str,
    reached: tokio::sync::oneshot::Sender<()>,
    resume: std::sync::mpsc::Receiver<()>,
}

/// The interceptor on every client of one function. Clones share what they record.
#[derive(Clone, Debug, Default)]
struct Recorder {
    calls: Arc<Mutex<Vec<Call>>>,
    pause: Arc<Mutex<Option<Pause>>>,
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "Recorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let target = match request.headers().get("x-amz-target") {
            Some(target) => target.to_owned(),
            // SES v2 is REST: no target header, but every operation stores its name and service.
            None => cfg.load::<Metadata>().map(|m| format!("{}.{}", m.service(), m.name())).unwrap_or_default(),
        };
        let body = request.body().bytes().and_then(|bytes| serde_json::from_slice(bytes).ok()).unwrap_or_default();
        let held = {
            let mut pause = self.pause.lock().map_err(|_| "pause poisoned")?;
            match pause.as_ref() {
                Some(p) if target.rsplit('.').next() == Some(p.operation) => pause.take(),
                _ => None,
            }
        };
        self.calls.lock().map_err(|_| "calls poisoned")?.push(Call { target, body });
        if let Some(pause) = held {
            // The test may never be waiting any more; the pause then just ends.
            let _ = pause.reached.send(());
            // A multi-threaded runtime moves this worker's other tasks elsewhere meanwhile.
            tokio::task::block_in_place(|| pause.resume.recv()).map_err(|_| "the test never resumed the request")?;
        }
        Ok(())
    }
}

impl Recorder {
    /// Another recorder writing to the same record, with a pause of its own.
    fn sharing_calls(&self) -> Recorder {
        Recorder { calls: self.calls.clone(), pause: Arc::default() }
    }

    /// Holds this recorder's next request of `operation` before it is sent: returns a receiver
    /// that fires when it is held and a sender that lets it go.
    fn pause_before(
        &self,
        operation: &'static str,
    ) -> (tokio::sync::oneshot::Receiver<()>, std::sync::mpsc::Sender<()>) {
        let (reached, reached_rx) = tokio::sync::oneshot::channel();
        let (resume_tx, resume) = std::sync::mpsc::channel();
        let mut pause = self.pause.lock().unwrap_or_else(|e| panic!("{e}"));
        *pause = Some(Pause { operation, reached, resume });
        (reached_rx, resume_tx)
    }

    fn interceptors(&self) -> Vec<SharedInterceptor> {
        vec![SharedInterceptor::new(self.clone())]
    }

    /// The permissions every request recorded so far needs.
    fn permissions(&self, stack: &Stack) -> BTreeSet<Permission> {
        let calls = self.calls.lock().unwrap_or_else(|e| panic!("{e}"));
        calls.iter().flat_map(|call| needed(call, stack)).collect()
    }
}

/// The permissions one request needs. Panics on an operation it does not know, so a new kind of
/// call is taught to this test (and to the template) rather than passed over.
fn needed(call: &Call, stack: &Stack) -> Vec<Permission> {
    let (service, operation) = call.target.split_once('.').unwrap_or_else(|| panic!("no target: {call:?}"));
    match (service, operation) {
        ("DynamoDB_20120810", "TransactWriteItems" | "TransactGetItems") => transaction_actions(call, stack),
        ("DynamoDB_20120810", "BatchGetItem" | "BatchWriteItem") => {
            let tables = call.body["RequestItems"].as_object().unwrap_or_else(|| panic!("{call:?}"));
            tables.keys().map(|name| (format!("dynamodb:{operation}"), stack.table_resource(name))).collect()
        }
        ("DynamoDB_20120810", _) => {
            let table = stack.table_resource(call.body["TableName"].as_str().unwrap_or_default());
            let resource = match call.body["IndexName"].as_str() {
                Some(index) => Resource::Index(index.to_owned()),
                None => table,
            };
            vec![(format!("dynamodb:{operation}"), resource)]
        }
        ("AWSEvents", "PutEvents") => {
            let entries = call.body["Entries"].as_array().unwrap_or_else(|| panic!("{call:?}"));
            for entry in entries {
                assert_eq!(entry["EventBusName"].as_str(), Some(stack.names.bus.as_deref().unwrap_or_default()));
            }
            vec![("events:PutEvents".to_owned(), Resource::Bus)]
        }
        ("secretsmanager", "GetSecretValue") => {
            assert_eq!(call.body["SecretId"].as_str(), Some(stack.names.config_secret.as_str()), "{call:?}");
            vec![("secretsmanager:GetSecretValue".to_owned(), Resource::ConfigSecret)]
        }
        ("SESv2", "SendEmail") => send_email_permissions(call),
        _ => panic!("{} has no IAM action in this test yet: add it to `needed`", call.target),
    }
}

/// An SES v2 SendEmail is authorised as `ses:SendEmail` and `ses:SendRawEmail` (the mailer sends
/// raw content), each on the identity that sends, which is the sender's domain (what the shops
/// verify), and on the configuration set when the request names one.
fn send_email_permissions(call: &Call) -> Vec<Permission> {
    let from = call.body["FromEmailAddress"].as_str().unwrap_or_else(|| panic!("no FromEmailAddress: {call:?}"));
    let (_, domain) = from.rsplit_once('@').unwrap_or_else(|| panic!("a sender that is no address: {from}"));
    let mut resources = vec![Resource::SesIdentity(domain.to_owned())];
    if let Some(set) = call.body["ConfigurationSetName"].as_str() {
        resources.push(Resource::SesConfigurationSet(set.to_owned()));
    }
    ["ses:SendEmail", "ses:SendRawEmail"]
        .into_iter()
        .flat_map(|action| resources.iter().map(move |resource| (action.to_owned(), resource.clone())))
        .collect()
}

/// A transaction is authorised action by action: each item needs its own.
fn transaction_actions(call: &Call, stack: &Stack) -> Vec<Permission> {
    const ITEM_ACTIONS: [(&str, &str); 5] = [
        ("Put", "PutItem"),
        ("Update", "UpdateItem"),
        ("Delete", "DeleteItem"),
        ("ConditionCheck", "ConditionCheckItem"),
        ("Get", "GetItem"),
    ];
    let items = call.body["TransactItems"].as_array().unwrap_or_else(|| panic!("{call:?}"));
    items
        .iter()
        .map(|item| {
            let (kind, action) = ITEM_ACTIONS
                .into_iter()
                .find(|(kind, _)| item.get(kind).is_some())
                .unwrap_or_else(|| panic!("unknown transaction item {item}"));
            let table = item[kind]["TableName"].as_str().unwrap_or_default();
            (format!("dynamodb:{action}"), stack.table_resource(table))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// What the template grants.

/// A function's resource in the template.
fn function<'t>(template: &'t Yaml, logical_id: &str) -> &'t Yaml {
    let resource = &template["Resources"][logical_id];
    assert_eq!(resource["Type"].as_str(), Some("AWS::Serverless::Function"), "{logical_id}");
    &resource["Properties"]
}

/// `(tag, value)` of an intrinsic function such as `!GetAtt Table.Arn`.
fn intrinsic(value: &Yaml) -> (String, String) {
    match value {
        Yaml::Tagged(tagged) => match tagged.value.as_str() {
            Some(text) => (tagged.tag.to_string(), text.to_owned()),
            None => panic!("an intrinsic of a form this test does not read: {value:?}"),
        },
        _ => panic!("a resource that is not a reference to the stack's own: {value:?}"),
    }
}

fn resource(value: &Yaml) -> Resource {
    let (tag, text) = intrinsic(value);
    match (tag.as_str(), text.as_str()) {
        ("!GetAtt", "Table.Arn") => Resource::Table,
        ("!Sub", sub) if sub.starts_with("${Table.Arn}/index/") => {
            Resource::Index(sub.trim_start_matches("${Table.Arn}/index/").to_owned())
        }
        ("!Ref", "ConfigSecretArn") => Resource::ConfigSecret,
        ("!Sub", "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*") => Resource::AnySesIdentity,
        ("!Sub", "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/*") => {
            Resource::AnySesConfigurationSet
        }
        ("!Ref", "Bus") => Resource::Bus,
        ("!GetAtt", attribute) => match attribute.split_once('.') {
            Some((logical_id, "Arn" | "QueueName")) => Resource::Other(logical_id.to_owned()),
            _ => panic!("unknown resource {tag} {text}"),
        },
        _ => panic!("unknown resource {tag} {text}"),
    }
}

/// Whether a grant allows a needed permission: the same action on the same resource, or on one of
/// the two SES wildcards of the stack's account over a specific identity or configuration set
/// (shops name theirs in the configuration secret, so the template cannot). Nothing else is a
/// wildcard here: every other resource is granted by name, and `index/*` is no grant of an index.
fn covers(grant: &Permission, need: &Permission) -> bool {
    grant.0 == need.0
        && match (&grant.1, &need.1) {
            (Resource::AnySesIdentity, Resource::SesIdentity(_)) => true,
            (Resource::AnySesConfigurationSet, Resource::SesConfigurationSet(_)) => true,
            (granted, needed) => granted == needed,
        }
}

fn one_or_many(value: &Yaml) -> Vec<&Yaml> {
    match value {
        Yaml::Sequence(items) => items.iter().collect(),
        other => vec![other],
    }
}

/// Every (action, resource) the function's role allows: its `Policies`, SAM policy templates
/// expanded, and what SAM adds for its `EventInvokeConfig` destinations.
fn granted(template: &Yaml, logical_id: &str) -> BTreeSet<Permission> {
    let policies = function(template, logical_id)["Policies"].as_sequence();
    let mut permissions = invoke_destinations(template, logical_id);
    for policy in policies.unwrap_or_else(|| panic!("{logical_id} has no Policies list")) {
        let mapping = policy.as_mapping().unwrap_or_else(|| panic!("{logical_id}: a policy that is no mapping"));
        for (name, body) in mapping {
            match name.as_str().unwrap_or_default() {
                "Statement" => permissions.extend(statements(logical_id, body)),
                "EventBridgePutEventsPolicy" => {
                    permissions.insert(("events:PutEvents".to_owned(), resource(&body["EventBusName"])));
                }
                // As aws-sam-translator expands it: SendMessage and SendMessageBatch.
                "SQSSendMessagePolicy" => {
                    permissions.insert(("sqs:SendMessage*".to_owned(), resource(&body["QueueName"])));
                }
                other => panic!("{logical_id}: SAM policy {other} is not expanded by this test yet"),
            }
        }
    }
    permissions
}

fn statements(logical_id: &str, body: &Yaml) -> Vec<Permission> {
    let mut permissions = Vec::new();
    for statement in one_or_many(body) {
        assert_eq!(statement["Effect"].as_str(), Some("Allow"), "{logical_id}: {statement:?}");
        for action in one_or_many(&statement["Action"]) {
            let action = action.as_str().unwrap_or_else(|| panic!("{logical_id}: action {action:?}"));
            assert!(!action.contains('*'), "{logical_id}: a wildcard action {action} is never least privilege");
            for target in one_or_many(&statement["Resource"]) {
                permissions.push((action.to_owned(), resource(target)));
            }
        }
    }
    permissions
}

/// `sqs:SendMessage` to each SQS destination of the function's `EventInvokeConfig`: Lambda sends
/// the records of failed async invocations there with the function's role, and SAM adds exactly
/// this to the role (no policy needs to grant it).
fn invoke_destinations(template: &Yaml, logical_id: &str) -> BTreeSet<Permission> {
    let destinations = &function(template, logical_id)["EventInvokeConfig"]["DestinationConfig"];
    ["OnFailure", "OnSuccess"]
        .into_iter()
        .map(|when| &destinations[when])
        .filter(|destination| destination["Type"].as_str() == Some("SQS"))
        .map(|destination| ("sqs:SendMessage".to_owned(), resource(&destination["Destination"])))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The stack on moto, and the functions as their `main.rs` build them.

struct Stack {
    sdk: SdkConfig,
    names: ResourceNames,
    secrets: aws_sdk_secretsmanager::Client,
}

impl Stack {
    /// A table, a bus and a configuration secret of their own, created without any recorder.
    async fn create() -> Stack {
        let sdk = moto_sdk_config().await;
        let suffix = format!("{:016x}", rand::random::<u64>());
        let table = format!("stammkunde-iam-{suffix}");
        let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
        create_table(&dynamo, &table).await.unwrap_or_else(|e| panic!("creating table {table}: {e:?}"));
        let bus = format!("stammkunde-iam-{suffix}-events");
        let events = aws_sdk_eventbridge::Client::new(&sdk);
        events.create_event_bus().name(&bus).send().await.unwrap_or_else(|e| panic!("creating bus: {e:?}"));
        let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
        let created =
            secrets.create_secret().name(format!("stammkunde-iam-{suffix}")).secret_string(test_config_toml());
        let created = created.send().await.unwrap_or_else(|e| panic!("creating the secret: {e:?}"));
        let config_secret = created.arn().unwrap_or_else(|| panic!("the secret has no ARN")).to_owned();
        Stack { sdk, names: ResourceNames { table, config_secret, bus: Some(bus) }, secrets }
    }

    fn table_resource(&self, name: &str) -> Resource {
        assert_eq!(name, self.names.table, "a request to a table that is not the stack's");
        Resource::Table
    }

    /// A cold start: the configuration read from the secret, clients recording into `recorder`.
    async fn environment(&self, recorder: &Recorder) -> LambdaEnvironment {
        let env = LambdaEnvironment::connect(self.sdk.clone(), self.names.clone(), recorder.interceptors()).await;
        env.unwrap_or_else(|e| panic!("cold start: {e:?}"))
    }

    /// Replaces the shop configuration (a rule change: instances started after it see it).
    async fn set_config(&self, toml: &str) {
        let put = self.secrets.put_secret_value().secret_id(&self.names.config_secret).secret_string(toml);
        put.send().await.unwrap_or_else(|e| panic!("updating the secret: {e:?}"));
    }
}

/// The bus of the webhooks function, as in its `main.rs`, that also keeps what it published so
/// the test can hand it to the points function as EventBridge would.
struct Forwarding {
    bus: stammkunde_aws::EventBridgeBus,
    published: Mutex<Vec<DomainEvent>>,
}

#[async_trait]
impl EventBus for Forwarding {
    async fn publish(&self, events: &[DomainEvent]) -> Result<(), BusError> {
        self.bus.publish(events).await?;
        self.published.lock().map_err(|_| BusError::Rejected("poisoned".into()))?.extend(events.iter().cloned());
        Ok(())
    }
}

impl Forwarding {
    fn take(&self) -> Vec<DomainEvent> {
        std::mem::take(&mut *self.published.lock().unwrap_or_else(|e| panic!("{e}")))
    }
}

/// `functions/webhooks/src/main.rs`, with the test's clock and a forwarding bus.
async fn webhooks(stack: &Stack, recorder: &Recorder, clock: &Arc<FixedClock>) -> (WebhookService, Arc<Forwarding>) {
    let env = stack.environment(recorder).await;
    let bus =
        Arc::new(Forwarding { bus: env.event_bus().unwrap_or_else(|e| panic!("{e}")), published: Mutex::default() });
    let service = WebhookService {
        shops: env.shops.clone(),
        store: env.store.clone(),
        bus: bus.clone(),
        clock: clock.clone(),
        shopware_admin: Arc::new(HttpShopwareAdmin::new()),
        public_url: None,
        privacy: Arc::new(Privacy::over(env.store.clone(), Arc::new(NoMailArchive), clock.clone())),
    };
    (service, bus)
}

fn ledger_service(env: &LambdaEnvironment, clock: &Arc<FixedClock>) -> Arc<LedgerService> {
    Arc::new(LedgerService {
        ledger: env.store.clone(),
        timers: env.store.clone(),
        bus: Arc::new(env.event_bus().unwrap_or_else(|e| panic!("{e}"))),
        clock: clock.clone(),
    })
}

/// `functions/points/src/main.rs`.
async fn points(stack: &Stack, recorder: &Recorder, clock: &Arc<FixedClock>) -> PointsService {
    let env = stack.environment(recorder).await;
    let ledger = ledger_service(&env, clock);
    PointsService { shops: env.shops.clone(), ledger, customers: env.store.clone(), codes: env.store.clone() }
}

/// `functions/api/src/main.rs`.
async fn api(stack: &Stack, recorder: &Recorder, clock: &Arc<FixedClock>) -> Arc<ApiService> {
    let env = stack.environment(recorder).await;
    let ledger = ledger_service(&env, clock);
    Arc::new(ApiService {
        shops: env.shops.clone(),
        store: env.store.clone(),
        ledger,
        coupons: Arc::new(Coupons::new(env.store.clone())),
        clock: clock.clone(),
        mail: env.store.clone(),
        consent: env.store.clone(),
        bus: Arc::new(env.event_bus().unwrap_or_else(|e| panic!("{e}"))),
        privacy: Arc::new(Privacy::over(env.store.clone(), Arc::new(NoMailArchive), clock.clone())),
        reconsent: Arc::new(Reconsent::over(env.store.clone(), clock.clone())),
    })
}

/// `functions/ledger-sweep/src/main.rs`.
async fn ledger_sweep(stack: &Stack, recorder: &Recorder, clock: &Arc<FixedClock>) -> SweepFunction {
    let env = stack.environment(recorder).await;
    let bus = Arc::new(env.event_bus().unwrap_or_else(|e| panic!("{e}")));
    let ledger = Arc::new(LedgerService {
        ledger: env.store.clone(),
        timers: env.store.clone(),
        bus: bus.clone(),
        clock: clock.clone(),
    });
    let sweep = LedgerSweep {
        ledger,
        timers: env.store.clone(),
        customers: env.store.clone(),
        shops: env.store.clone(),
        clock: clock.clone(),
    };
    let privacy = Arc::new(Privacy::over(env.store.clone(), Arc::new(NoMailArchive), clock.clone()));
    SweepFunction {
        shops: env.shops.clone(),
        sweep,
        bus,
        pages_per_invocation: PAGES_PER_INVOCATION,
        privacy,
        erasure_batches_per_invocation: ERASURE_BATCHES_PER_INVOCATION,
    }
}

/// `functions/mail-sweep/src/main.rs`, with the test's clock, reading at most `pages` index pages
/// per shop, and SES at `ses_endpoint` instead of moto when given (one nobody listens on).
async fn mail_sweep(
    stack: &Stack,
    recorder: &Recorder,
    clock: &Arc<FixedClock>,
    pages: u32,
    ses_endpoint: Option<String>,
) -> MailSweepFunction {
    let env = stack.environment(recorder).await;
    let bus = Arc::new(env.event_bus().unwrap_or_else(|e| panic!("{e}")));
    // `main.rs` builds this client from the SDK configuration alone; the recorder is the only
    // difference.
    let mut ses = aws_sdk_sesv2::config::Builder::from(&env.sdk);
    for interceptor in recorder.interceptors() {
        ses.push_interceptor(interceptor);
    }
    if let Some(endpoint) = ses_endpoint {
        ses.set_endpoint_url(Some(endpoint));
    }
    let sweep = MailSweep {
        customers: env.store.clone(),
        mail: env.store.clone(),
        codes: env.store.clone(),
        ledger: env.store.clone(),
        marks: env.store.clone(),
        coupons: Arc::new(Coupons::new(env.store.clone())),
        mailer: Arc::new(SesMailer::new(aws_sdk_sesv2::Client::from_conf(ses.build()))),
        clock: clock.clone(),
        renderer: Arc::new(MailRenderer::new().unwrap_or_else(|e| panic!("{e:?}"))),
        public_url: PUBLIC_URL.to_owned(),
        pacer: Pacer::default(),
    };
    MailSweepFunction { shops: env.shops.clone(), sweep, bus, pages_per_invocation: pages }
}

/// `functions/mail-feedback/src/main.rs`, with the test's clock.
async fn mail_feedback(stack: &Stack, recorder: &Recorder, clock: &Arc<FixedClock>) -> FeedbackFunction {
    let env = stack.environment(recorder).await;
    FeedbackFunction {
        feedback: MailFeedback { shops: env.shops.clone(), mail: env.store.clone(), clock: clock.clone() },
    }
}

// ---------------------------------------------------------------------------------------------
// The flows.

fn request(method: &str, uri: &str, headers: &[(&str, String)], body: &[u8]) -> http::Request<Bytes> {
    let mut request = http::Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.body(Bytes::copy_from_slice(body)).unwrap_or_else(|e| panic!("{e}"))
}

fn reply(response: &http::Response<String>) -> (u16, Value) {
    (response.status().as_u16(), serde_json::from_str(response.body()).unwrap_or(Value::Null))
}

/// A webhook that must be answered 200 with `status`.
async fn deliver(webhooks: &WebhookService, path: &str, headers: &[(&str, String)], body: &[u8], status: &str) {
    let (code, answer) = reply(&webhooks.handle(request("POST", path, headers, body)).await);
    assert_eq!((code, answer["status"].as_str()), (200, Some(status)), "{path}: {answer}");
}

/// The Shopware handshake and an order event signed with the secret it issued.
async fn shopware_flow(webhooks: &WebhookService) {
    let query = shopware_registration_query(t0().timestamp());
    let path = format!("/webhooks/shopware/registration?{query}");
    let (code, registered) = reply(&webhooks.handle(request("GET", &path, &shopware_app_signature(&query), b"")).await);
    assert_eq!(code, 200, "{registered}");
    let secret = registered["secret"].as_str().unwrap_or_default().to_owned();
    let body = shopware_confirmation_body(t0().timestamp());
    let confirm = "/webhooks/shopware/registration/confirm";
    deliver(webhooks, confirm, &shopware_headers(&body, &secret), &body, "confirmed").await;
    deliver(webhooks, "/webhooks/shopware", &shopware_headers(SHOPWARE_PLACED, &secret), SHOPWARE_PLACED, "accepted")
        .await;
}

/// Orders, a refund, a duplicate, customers, privacy requests and an uninstall of Shopify, and a
/// WooCommerce order.
async fn shopify_and_woo_flow(webhooks: &WebhookService) {
    let shopify = "/webhooks/shopify";
    deliver(webhooks, shopify, &shopify_headers("orders/paid", SHOPIFY_PAID, "iam-1"), SHOPIFY_PAID, "accepted").await;
    deliver(webhooks, shopify, &shopify_headers("orders/paid", SHOPIFY_PAID, "iam-1"), SHOPIFY_PAID, "duplicate").await;
    let refund = shopify_headers("refunds/create", SHOPIFY_REFUND, "iam-2");
    deliver(webhooks, shopify, &refund, SHOPIFY_REFUND, "accepted").await;
    let tiers = shopify_headers_for(TIERS_SHOPIFY_DOMAIN, "orders/paid", SHOPIFY_PAID, "iam-3");
    deliver(webhooks, shopify, &tiers, SHOPIFY_PAID, "accepted").await;
    let created = shopify_headers("customers/create", SHOPIFY_CUSTOMER, "iam-4");
    deliver(webhooks, shopify, &created, SHOPIFY_CUSTOMER, "accepted").await;
    let deleted = json_body(&json!({ "id": NEW_CUSTOMER.parse::<u64>().unwrap_or_default() }));
    deliver(webhooks, shopify, &shopify_headers("customers/delete", &deleted, "iam-5"), &deleted, "accepted").await;
    // The redaction names the customer created and deleted above (its erasure suppresses their
    // address and clears what the deletion kept): the fixture's customer is used further on.
    let redact = edit_json(SHOPIFY_REDACT, |body| {
        body["customer"]["id"] = json!(NEW_CUSTOMER.parse::<u64>().unwrap_or_default())
    });
    for (topic, body, id) in
        [("customers/data_request", SHOPIFY_DATA_REQUEST, "iam-6"), ("customers/redact", redact.as_slice(), "iam-7")]
    {
        deliver(webhooks, shopify, &shopify_headers(topic, body, id), body, "accepted").await;
    }
    let woo = woo_headers("order.updated", WOO_ORDER, "iam-8");
    deliver(webhooks, "/webhooks/woocommerce", &woo, WOO_ORDER, "accepted").await;
    let uninstalled = json_body(&json!({"id": 71234567890_u64, "domain": TIERS_SHOPIFY_DOMAIN}));
    let headers = shopify_headers_for(TIERS_SHOPIFY_DOMAIN, "app/uninstalled", &uninstalled, "iam-10");
    deliver(webhooks, shopify, &headers, &uninstalled, "accepted").await;
}

/// Hands each event to the points function the way EventBridge invokes it (the event JSON in an
/// EventBridge envelope, parsed as its `main.rs` parses it). Returns how many it reconciled.
async fn deliver_events(points: &PointsService, events: &[DomainEvent]) -> usize {
    let mut reconciled = 0;
    for event in events.iter().filter(|e| matches!(e.detail_type(), "OrderRecorded" | "RefundRecorded")) {
        let envelope = json!({
            "version": "0", "id": "iam", "detail-type": event.detail_type(), "source": "stammkunde",
            "account": "123456789012", "time": "2026-11-20T09:32:08Z", "region": "eu-central-1",
            "resources": [], "detail": event,
        });
        let invocation: EventBridgeEvent<DomainEvent> =
            serde_json::from_value(envelope).unwrap_or_else(|e| panic!("the envelope: {e}"));
        let outcome = points.handle_event(&invocation.detail).await;
        let outcome = outcome.unwrap_or_else(|e| panic!("points on {}: {e:?}", event.detail_type()));
        reconciled += usize::from(matches!(outcome, stammkunde_points::PointsOutcome::Reconciled { .. }));
    }
    reconciled
}

/// A request to the merchant API of `shopify-shop`: (status, body text).
async fn call(api: &ApiService, method: &str, path: &str, body: Option<Value>) -> (u16, String) {
    let mut headers = bearer(API_KEY);
    headers.push(("content-type", "application/json".into()));
    let body = body.map(|b| json_body(&b)).unwrap_or_default();
    let uri = format!("/api/shops/shopify-shop{path}");
    let response = api.handle(request(method, &uri, &headers, &body)).await;
    (response.status().as_u16(), response.body().clone())
}

#[track_caller]
fn json_of(answer: &(u16, String), status: u16) -> Value {
    assert_eq!(answer.0, status, "{}", answer.1);
    serde_json::from_str(&answer.1).unwrap_or_else(|e| panic!("{e}: {}", answer.1))
}

async fn available(api: &ApiService) -> i64 {
    let ledger = json_of(&call(api, "GET", &format!("/customers/{CUSTOMER}/ledger"), None).await, 200);
    balance(&ledger).0
}

async fn adjust(api: &ApiService, key: &str, points: i64) {
    let body = json!({"idempotency_key": key, "points": points, "reason": "IAM test"});
    json_of(&call(api, "POST", &format!("/customers/{CUSTOMER}/adjustments"), Some(body)).await, 201);
}

/// Every route of the merchant API. Returns the generated code the customer redeemed.
async fn api_flow(api: &ApiService) -> String {
    let customer = format!("/customers/{CUSTOMER}");
    json_of(&call(api, "GET", &customer, None).await, 200);
    adjust(api, "iam-credit", 1000).await;
    let codes = json!({"codes": ["IAM-POOL-0001", "IAM-POOL-0002", "IAM-POOL-0003"]});
    json_of(&call(api, "POST", &format!("/rewards/{POOL_REWARD}/codes"), Some(codes)).await, 200);
    let redemptions = format!("{customer}/redemptions");
    let pooled = json!({"idempotency_key": "iam-pool-1", "reward": POOL_REWARD});
    json_of(&call(api, "POST", &redemptions, Some(pooled.clone())).await, 201);
    json_of(&call(api, "POST", &redemptions, Some(pooled)).await, 200);
    let generated = json!({"idempotency_key": "iam-generated-1", "reward": GENERATED_REWARD});
    let generated = json_of(&call(api, "POST", &redemptions, Some(generated)).await, 201);
    json_of(&call(api, "PUT", &format!("{customer}/birthday"), Some(json!({"birthday": "14.07."}))).await, 200);
    let csv = format!("customer_id,birthday\n{CUSTOMER},14.07.1990\n");
    let imported =
        api.handle(request("POST", "/api/shops/shopify-shop/birthdays", &bearer(API_KEY), csv.as_bytes())).await;
    assert_eq!(imported.status(), 200, "{}", imported.body());
    let review = json!({"customer_id": CUSTOMER, "product_id": PRODUCT, "review_id": "rv-iam", "status": "published"});
    json_of(&call(api, "POST", "/reviews", Some(review)).await, 200);
    json_of(&call(api, "GET", &format!("{customer}/ledger"), None).await, 200);
    for path in ["/codes.csv".to_owned(), format!("/codes.csv?reward={POOL_REWARD}")] {
        let (status, csv) = call(api, "GET", &path, None).await;
        assert_eq!(status, 200, "{csv}");
    }
    generated["code"].as_str().unwrap_or_else(|| panic!("no code in {generated}")).to_owned()
}

/// A redemption whose debit loses a race after it claimed a pooled code: the code goes back to
/// the pool. The racer (another warm instance) is held just before its claim while this one
/// spends the points, so the race always goes the same way.
async fn lost_redemption_flow(api: &ApiService, racer: Arc<ApiService>, racer_recorder: &Recorder) {
    let spare = available(api).await - POOL_REWARD_POINTS;
    if spare > 0 {
        adjust(api, "iam-exact", -spare).await;
    }
    assert_eq!(available(api).await, POOL_REWARD_POINTS, "exactly one pooled redemption is affordable");
    let (claiming, resume) = racer_recorder.pause_before("TransactWriteItems");
    let raced = tokio::spawn(async move {
        let body = json!({"idempotency_key": "iam-pool-race", "reward": POOL_REWARD});
        call(&racer, "POST", &format!("/customers/{CUSTOMER}/redemptions"), Some(body)).await
    });
    let reached = tokio::time::timeout(std::time::Duration::from_secs(30), claiming).await;
    assert!(matches!(reached, Ok(Ok(()))), "the racing redemption never reached its claim");
    adjust(api, "iam-spend", -POOL_REWARD_POINTS).await;
    resume.send(()).unwrap_or_else(|e| panic!("{e}"));
    let answer = raced.await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(json_of(&answer, 409)["error"], "insufficient_points");
    let (_, csv) = call(api, "GET", &format!("/codes.csv?reward={POOL_REWARD}"), None).await;
    assert_eq!(csv.lines().filter(|l| l.contains(",pooled,")).count(), 2, "the claimed code is back: {csv}");
}

/// A second order that uses the generated code, so the points function marks it used.
async fn order_with_code(webhooks: &WebhookService, code: &str) {
    let order = edit_json(SHOPIFY_PAID, |o| {
        o["id"] = json!(5912345678999_u64);
        o["discount_codes"] = json!([{"code": code, "amount": "5.00", "type": "fixed_amount"}]);
    });
    let headers = shopify_headers("orders/paid", &order, "iam-9");
    deliver(webhooks, "/webhooks/shopify", &headers, &order, "accepted").await;
}

fn scheduled() -> SweepInput {
    serde_json::from_value(json!({"sweep": "ledger"})).unwrap_or_else(|e| panic!("{e}"))
}

fn continued(shop: &str) -> SweepInput {
    let event = json!({
        "version": "0", "id": "iam", "detail-type": "LedgerSweepRequested", "source": "stammkunde",
        "account": "123456789012", "time": "2026-12-02T10:05:40Z", "region": "eu-central-1", "resources": [],
        "detail": {"type": "ledger_sweep_requested", "shop": shop},
    });
    serde_json::from_value(event).unwrap_or_else(|e| panic!("{e}"))
}

/// Shopify's `shop/redact` for `tiers-shop` (uninstalled above): the webhooks function writes
/// the tombstone and asks for the erasure, which the ledger sweep function does from the event,
/// as EventBridge hands it over. Last of the flows: the shop stores nothing after it.
async fn shop_erasure_flow(
    stack: &Stack,
    webhooks: &WebhookService,
    forwarded: &Forwarding,
    recorder: &Recorder,
    clock: &Arc<FixedClock>,
) {
    let redact = json_body(&json!({"shop_id": 71234567890_u64, "shop_domain": TIERS_SHOPIFY_DOMAIN}));
    let headers = shopify_headers_for(TIERS_SHOPIFY_DOMAIN, "shop/redact", &redact, "iam-shop-redact");
    deliver(webhooks, "/webhooks/shopify", &headers, &redact, "accepted").await;
    let requested: Vec<DomainEvent> =
        forwarded.take().into_iter().filter(|e| matches!(e, DomainEvent::ShopErasureRequested { .. })).collect();
    assert_eq!(requested.len(), 1, "the erasure is asked for on the bus");
    let event = json!({
        "version": "0", "id": "iam", "detail-type": "ShopErasureRequested", "source": "stammkunde",
        "account": "123456789012", "time": "2026-12-02T10:05:40Z", "region": "eu-central-1", "resources": [],
        "detail": serde_json::to_value(&requested[0]).unwrap_or_else(|e| panic!("{e}")),
    });
    let input: SweepInput = serde_json::from_value(event).unwrap_or_else(|e| panic!("{e}"));
    let function = ledger_sweep(stack, recorder, clock).await;
    function.handle(&input).await.unwrap_or_else(|e| panic!("shop erasure: {e:?}"));
    let shop = ShopId::parse("tiers-shop").unwrap_or_else(|e| panic!("{e}"));
    let page = stammkunde_domain::ports::PageRequest::first(10);
    let unrecorded = stack.environment(&Recorder::default()).await;
    let left = unrecorded.store.customers(&shop, page).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(left.items.is_empty(), "the shop's customers are gone: {left:?}");
}

/// Sweeps every shop; returns (entries appended, customers of `tiers-shop` looked at).
async fn sweep(function: &SweepFunction, input: &SweepInput) -> (u32, u32) {
    let reports = function.handle(input).await.unwrap_or_else(|e| panic!("ledger sweep: {e:?}"));
    let tiers = reports.iter().find(|(shop, _)| shop.as_str() == "tiers-shop").map_or(0, |(_, r)| r.customers);
    (reports.iter().map(|(_, report)| report.entries).sum(), tiers)
}

async fn sweep_flow(stack: &Stack, recorder: &Recorder, clock: &Arc<FixedClock>) {
    // Past every hold and the codes' validity: releases, keep bonuses, unused codes expired.
    clock.set(t0() + Duration::days(60));
    let first = ledger_sweep(stack, recorder, clock).await;
    let (entries, _) = sweep(&first, &scheduled()).await;
    assert!(entries > 0, "the due customers' holds ended");
    sweep(&first, &continued("shopify-shop")).await;

    // The tier rule changes; instances started after it walk every customer of the shop.
    let threshold = format!("threshold = \"{SILVER_THRESHOLD}\"");
    let config = test_config_toml();
    assert!(config.contains(&threshold));
    stack.set_config(&config.replace(&threshold, "threshold = \"100000\"")).await;
    let second = ledger_sweep(stack, recorder, clock).await;
    let (_, tiers_customers) = sweep(&second, &scheduled()).await;
    assert!(tiers_customers > 0, "a tier rule change walks the shop's customers");
}

/// The mail sweep's customer in `mail-shop`: Lena of the Shopify fixtures, whose order was placed
/// on 2026-11-20, so her win-back mail is due 120 days later, on her birthday.
const MAIL_CUSTOMER: &str = CUSTOMER;
/// The domain of `mail-shop`'s sender, `news@kaffee.example`: the identity SES sends as.
const MAIL_SENDER_DOMAIN: &str = "kaffee.example";
/// Where the preference centre is, for the links in every mail (`STAMMKUNDE_PUBLIC_URL`).
const PUBLIC_URL: &str = "https://prefs.example";

fn at(raw: &str) -> DateTime<Utc> {
    raw.parse().unwrap_or_else(|e| panic!("{raw}: {e}"))
}

fn mail_shop() -> ShopId {
    ShopId::parse("mail-shop").unwrap_or_else(|e| panic!("{e}"))
}

/// Lena's paid order in `mail-shop` through the webhooks function, and (without any recorder) her
/// birthday, her confirmed subscription and the sender's verified domain.
async fn mail_setup(stack: &Stack, webhooks: &WebhookService, clock: &Arc<FixedClock>) {
    // The fixture's order was placed at 09:14 UTC; it is delivered minutes later, as a live one.
    clock.set(t0());
    let paid = shopify_headers_for(MAIL_SHOPIFY_DOMAIN, "orders/paid", SHOPIFY_PAID, "iam-mail-1");
    deliver(webhooks, "/webhooks/shopify", &paid, SHOPIFY_PAID, "accepted").await;

    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&stack.sdk), stack.names.table.clone());
    let customer = CustomerId::parse(MAIL_CUSTOMER).unwrap_or_else(|e| panic!("{e}"));
    // Entered long before the birthday, so the greeting carries a generated code.
    let since = at("2026-12-01T10:00:00Z");
    let profile = CustomerProfile {
        shop: mail_shop(),
        customer_id: customer.clone(),
        email: Some(Email::parse("lena.hoffmann@example.de").unwrap_or_else(|e| panic!("{e}"))),
        first_name: Some("Lena".into()),
        last_name: Some("Hoffmann".into()),
        locale: Some("de".into()),
        country: Some("DE".into()),
        birthday: Some(Birthday::new(3, 20, None).unwrap_or_else(|e| panic!("{e}"))),
        accepts_email_marketing: None,
        source_updated_at: Some(since),
    };
    let delivery = DeliveryRecord {
        shop: mail_shop(),
        ids: vec![DeliveryId::parse("iam-mail-profile").unwrap_or_else(|e| panic!("{e}"))],
        topic: "customers/update".into(),
        received_at: since,
        expires_at: since + Duration::days(7),
    };
    let applied = store.apply_delivery(&delivery, &[Change::UpsertCustomer(profile)]).await;
    applied.unwrap_or_else(|e| panic!("Lena's birthday: {e:?}"));
    let confirmed = MailContact { double_opt_in_at: Some(at("2026-11-21T08:00:00Z")), ..MailContact::default() };
    store.put_contact(&mail_shop(), &customer, &confirmed).await.unwrap_or_else(|e| panic!("{e:?}"));

    // SES (moto too) refuses a sender whose identity is not verified. Another run against the
    // same moto may have verified it already.
    let ses = aws_sdk_sesv2::Client::new(&stack.sdk);
    if let Err(error) = ses.create_email_identity().email_identity(MAIL_SENDER_DOMAIN).send().await {
        let exists = error.as_service_error().is_some_and(|e| e.is_already_exists_exception());
        assert!(exists, "CreateEmailIdentity {MAIL_SENDER_DOMAIN}: {error:?}");
    }
}

fn mail_scheduled() -> MailSweepInput {
    serde_json::from_value(json!({"sweep": "mail"})).unwrap_or_else(|e| panic!("{e}"))
}

/// The `MailSweepRequested` event the mail sweep publishes for a shop it did not finish.
fn mail_continued(shop: &str) -> MailSweepInput {
    let event = json!({
        "version": "0", "id": "iam", "detail-type": "MailSweepRequested", "source": "stammkunde",
        "account": "123456789012", "time": "2027-03-20T10:05:40Z", "region": "eu-central-1", "resources": [],
        "detail": {"type": "mail_sweep_requested", "shop": shop},
    });
    serde_json::from_value(event).unwrap_or_else(|e| panic!("{e}"))
}

/// One invocation at `now`; returns `mail-shop`'s report.
async fn mail_sweep_at(
    function: &MailSweepFunction,
    input: &MailSweepInput,
    clock: &FixedClock,
    now: &str,
) -> MailSweepReport {
    clock.set(at(now));
    let reports = function.handle(input).await.unwrap_or_else(|e| panic!("mail sweep at {now}: {e:?}"));
    let found = reports.into_iter().find(|(shop, _)| shop == &mail_shop());
    found.map(|(_, report)| report).unwrap_or_else(|| panic!("no report of mail-shop at {now}"))
}

/// Index pages enough for every source of one run on `mail-shop`: the deferred index, up to three
/// birthday days, seven win-back and seven reminder order dates. `PAGES_PER_INVOCATION` (5) ends
/// an invocation after the first win-back date; a continuation with this many pages finishes the
/// hour's run (from the source the first stopped in) in one invocation.
const ALL_MAIL_SOURCES: u32 = 32;

async fn mail_flow(stack: &Stack, recorder: &Recorder, clock: &Arc<FixedClock>) {
    // SES cannot be reached (the port was free a moment ago): neither mail went out, so both
    // claims are released (the only DeleteItem of these flows) for a later run.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = listener.local_addr().unwrap_or_else(|e| panic!("{e}")).port();
    drop(listener);
    let offline = mail_sweep(stack, recorder, clock, ALL_MAIL_SOURCES, Some(format!("http://127.0.0.1:{port}"))).await;
    let report = mail_sweep_at(&offline, &mail_scheduled(), clock, "2027-03-20T09:05:00Z").await;
    assert_eq!((report.sent, report.retry, report.deferred), (0, 2, 0), "{report:?}");

    // An hour later, wired as `main.rs` wires it: the birthday mail goes out; one invocation may
    // not read all of the shop's sources, so it re-queues the shop.
    let function = mail_sweep(stack, recorder, clock, stammkunde_mail_sweep::PAGES_PER_INVOCATION, None).await;
    let report = mail_sweep_at(&function, &mail_scheduled(), clock, "2027-03-20T10:05:00Z").await;
    assert_eq!((report.sent, report.more), (1, true), "{report:?}");

    // The continuation reaches the win-back mail due the same day: the cap (one mail in 7 days)
    // defers it.
    let continuing = mail_sweep(stack, recorder, clock, ALL_MAIL_SOURCES, None).await;
    let report = mail_sweep_at(&continuing, &mail_continued("mail-shop"), clock, "2027-03-20T10:05:40Z").await;
    assert_eq!((report.sent, report.deferred, report.more), (0, 1, false), "{report:?}");

    // Seven days after the birthday mail the cap frees, and the deferred index hands it over.
    let report = mail_sweep_at(&function, &mail_scheduled(), clock, "2027-03-27T10:06:00Z").await;
    assert_eq!(report.sent, 1, "the deferred win-back mail: {report:?}");
}

/// SES's record of a bounce of a `mail-shop` mail (tagged as the mail sweep tags it) in the
/// EventBridge envelope the default bus delivers it in.
fn ses_event(detail: &str) -> EventBridgeEvent<Value> {
    let envelope = json!({
        "version": "0", "id": "iam-ses", "detail-type": "Email Bounced", "source": "aws.ses",
        "account": "123456789012", "time": "2027-03-27T10:07:00Z", "region": "eu-central-1",
        "resources": ["arn:aws:ses:eu-central-1:123456789012:configuration-set/kaffee-marketing"],
        "detail": serde_json::from_str::<Value>(detail).unwrap_or_else(|e| panic!("{e}")),
    });
    serde_json::from_value(envelope).unwrap_or_else(|e| panic!("the envelope: {e}"))
}

/// A soft bounce (counted: an UpdateItem) and a hard bounce (suppressed: a PutItem) of Lena's mail.
async fn mail_feedback_flow(stack: &Stack, recorder: &Recorder, clock: &Arc<FixedClock>) {
    let function = mail_feedback(stack, recorder, clock).await;
    for (detail, suppressed, below_max) in [
        (include_str!("../../fixtures/ses/bounce_transient.json"), 0, 1),
        (include_str!("../../fixtures/ses/bounce_permanent.json"), 1, 0),
    ] {
        let outcome = function.handle(&ses_event(detail)).await.unwrap_or_else(|e| panic!("mail feedback: {e:?}"));
        let FeedbackOutcome::Handled(report) = outcome else { panic!("not handled: {outcome:?}") };
        assert_eq!(
            (report.shop, report.suppressed, report.soft_bounces_below_max),
            (mail_shop(), suppressed, below_max)
        );
    }
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&stack.sdk), stack.names.table.clone());
    let lena = Email::parse("lena.hoffmann@example.de").unwrap_or_else(|e| panic!("{e}"));
    let address = stammkunde_domain::mail::contact::AddressDigest::of(&mail_shop(), &lena);
    let suppression = store.suppression(&mail_shop(), &address).await.unwrap_or_else(|e| panic!("{e:?}"));
    assert!(suppression.is_some(), "the hard bounce suppressed Lena's address");
}

/// `functions/preferences/src/main.rs`.
async fn preferences(stack: &Stack, recorder: &Recorder, clock: &Arc<FixedClock>) -> PreferencesService {
    let env = stack.environment(recorder).await;
    PreferencesService {
        shops: env.shops.clone(),
        store: env.store.clone(),
        mail: env.store.clone(),
        consent: env.store.clone(),
        privacy: Arc::new(Privacy::over(env.store.clone(), Arc::new(NoMailArchive), clock.clone())),
        bus: Arc::new(env.event_bus().unwrap_or_else(|e| panic!("{e}"))),
        clock: clock.clone(),
        pages: Arc::new(Pages::new().unwrap_or_else(|e| panic!("{e}"))),
    }
}

/// A mail's unsubscribe link of the mail shop's customer: the page, then the one-click POST.
async fn preferences_flow(stack: &Stack, recorder: &Recorder, clock: &Arc<FixedClock>) {
    let service = preferences(stack, recorder, clock).await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&stack.sdk), stack.names.table.clone());
    let token = "00112233445566778899aabbccddeeff";
    let customer = CustomerId::parse(MAIL_CUSTOMER).unwrap_or_else(|e| panic!("{e}"));
    let link = LinkToken {
        shop: mail_shop(),
        customer_id: customer.clone(),
        issued_at: stammkunde_domain::clock::Clock::now(clock.as_ref()),
        expires_at: stammkunde_domain::clock::Clock::now(clock.as_ref()) + chrono::Duration::days(180),
        confirms: None,
    };
    let digest = token_digest(token).unwrap_or_default();
    store.put_link(&digest, &link).await.unwrap_or_else(|e| panic!("{e:?}"));
    // The settings page, then a save with a birthday (the settings' PutItem, the profile's
    // UpdateItem).
    let settings_path = format!("/p/{token}");
    let settings = service.handle(request("GET", &settings_path, &[], b"")).await;
    assert_eq!(settings.status(), 200, "{}", settings.body());
    let csrf = hidden_field(settings.body(), "csrf");
    let form = format!("csrf={csrf}&revision=0&topic_newsletter=on&frequency=monthly&birthday_day=14&birthday_month=7");
    let form_headers = [("content-type", "application/x-www-form-urlencoded".to_owned())];
    let saved = service.handle(request("POST", &settings_path, &form_headers, form.as_bytes())).await;
    assert_eq!(saved.status(), 303, "{}", saved.body());
    let path = format!("/u/{token}");
    let page = service.handle(request("GET", &path, &[], b"")).await;
    assert_eq!(page.status(), 200, "{}", page.body());
    let headers = [("content-type", "application/x-www-form-urlencoded".to_owned())];
    let one_click = service.handle(request("POST", &path, &headers, b"List-Unsubscribe=One-Click")).await;
    assert_eq!(one_click.status(), 200, "{}", one_click.body());
    let contact = store.contact(&mail_shop(), &customer).await.unwrap_or_else(|e| panic!("{e:?}"));
    assert!(contact.and_then(|c| c.unsubscribed_at).is_some(), "unsubscribed");
}

/// A German customer of `mail-shop`, stored as a `customers/create` delivery stores one.
async fn new_customer(
    store: &DynamoStore,
    customer: &CustomerId,
    email: &str,
    first_name: Option<&str>,
    delivery: &str,
    now: DateTime<Utc>,
) {
    let profile = CustomerProfile {
        shop: mail_shop(),
        customer_id: customer.clone(),
        email: Some(Email::parse(email).unwrap_or_else(|e| panic!("{e}"))),
        first_name: first_name.map(str::to_owned),
        last_name: None,
        locale: Some("de".into()),
        country: Some("DE".into()),
        birthday: None,
        accepts_email_marketing: None,
        source_updated_at: Some(now),
    };
    let delivery = DeliveryRecord {
        shop: mail_shop(),
        ids: vec![DeliveryId::parse(delivery).unwrap_or_else(|e| panic!("{e}"))],
        topic: "customers/create".into(),
        received_at: now,
        expires_at: now + Duration::days(7),
    };
    store.apply_delivery(&delivery, &[Change::UpsertCustomer(profile)]).await.unwrap_or_else(|e| panic!("{e:?}"));
}

/// A customer of `mail-shop` who has not subscribed yet.
const SUBSCRIBER: &str = "7654321099555";

/// The double opt-in across three functions: the merchant API records the request and publishes
/// it, the mail sweep sends the confirmation mail, and the confirmation page records the click.
async fn consent_flow(stack: &Stack, recorders: &BTreeMap<&str, Recorder>, clock: &Arc<FixedClock>) {
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&stack.sdk), stack.names.table.clone());
    let customer = CustomerId::parse(SUBSCRIBER).unwrap_or_else(|e| panic!("{e}"));
    let now = stammkunde_domain::clock::Clock::now(clock.as_ref());
    new_customer(&store, &customer, "jonas.weber@example.de", Some("Jonas"), "iam-subscriber-profile", now).await;

    let api = api(stack, &recorders["api"], clock).await;
    let mut headers = bearer(MAIL_API_KEY);
    headers.push(("content-type", "application/json".into()));
    let body = json!({
        "customer_id": SUBSCRIBER, "wording": "Ja, ich möchte den Newsletter.", "locale": "de",
        "source": "https://kaffee.example/newsletter", "ip": "198.51.100.23", "user_agent": "Mozilla/5.0",
    });
    let path = "/api/shops/mail-shop/subscriptions";
    let requested = api.handle(request("POST", path, &headers, &json_body(&body))).await;
    assert_eq!(requested.status(), 202, "{}", requested.body());
    let proof_path = format!("/api/shops/mail-shop/customers/{SUBSCRIBER}/consents");
    let proof = api.handle(request("GET", &proof_path, &headers, b"")).await;
    assert_eq!(proof.status(), 200, "{}", proof.body());

    let date = now.date_naive();
    let event = json!({
        "version": "0", "id": "iam-subscription", "detail-type": "SubscriptionRequested", "source": "stammkunde",
        "account": "123456789012", "time": now, "region": "eu-central-1", "resources": [],
        "detail": {"type": "subscription_requested", "shop": "mail-shop", "customer_id": SUBSCRIBER, "date": date},
    });
    let input: MailSweepInput = serde_json::from_value(event).unwrap_or_else(|e| panic!("{e}"));
    let sweep =
        mail_sweep(stack, &recorders["mail-sweep"], clock, stammkunde_mail_sweep::PAGES_PER_INVOCATION, None).await;
    sweep.handle(&input).await.unwrap_or_else(|e| panic!("the confirmation mail: {e:?}"));
    let sent = store.send(&mail_shop(), &customer, Campaign::ConsentConfirmation, date).await;
    let sent = sent.unwrap_or_else(|e| panic!("{e:?}")).map(|s| s.state);
    assert!(matches!(sent, Some(SendState::Sent { .. })), "{sent:?}");

    // The mail's token is only in the mail SES took; a token stored as that mail stores it opens
    // the same page.
    let service = preferences(stack, &recorders["preferences"], clock).await;
    let token = "ffeeddccbbaa99887766554433221100";
    let link = LinkToken {
        shop: mail_shop(),
        customer_id: customer.clone(),
        issued_at: now,
        expires_at: now + Duration::days(180),
        confirms: Some(stammkunde_domain::consent::request_key(date)),
    };
    store.put_link(&token_digest(token).unwrap_or_default(), &link).await.unwrap_or_else(|e| panic!("{e:?}"));
    let path = format!("/c/{token}");
    let page = service.handle(request("GET", &path, &[], b"")).await;
    assert_eq!(page.status(), 200, "{}", page.body());
    let form = format!("csrf={}", hidden_field(page.body(), "csrf"));
    let form_headers = [("content-type", "application/x-www-form-urlencoded".to_owned())];
    let confirmed = service.handle(request("POST", &path, &form_headers, form.as_bytes())).await;
    assert_eq!(confirmed.status(), 200, "{}", confirmed.body());
    let contact = store.contact(&mail_shop(), &customer).await.unwrap_or_else(|e| panic!("{e:?}"));
    assert!(contact.and_then(|c| c.double_opt_in_at).is_some(), "confirmed");

    // A new link asked for by address: the form looks the address up (by_email), counts the
    // request (UpdateItem) and publishes it; the mail sweep sends the new-link mail from the event.
    let page = service.handle(request("GET", "/l/mail-shop", &[], b"")).await;
    assert_eq!(page.status(), 200, "{}", page.body());
    let form = format!("csrf={}&email=jonas.weber%40example.de", hidden_field(page.body(), "csrf"));
    let asked = service.handle(request("POST", "/l/mail-shop", &form_headers, form.as_bytes())).await;
    assert_eq!(asked.status(), 200, "{}", asked.body());
    let event = json!({
        "version": "0", "id": "iam-link", "detail-type": "LinkRequested", "source": "stammkunde",
        "account": "123456789012", "time": now, "region": "eu-central-1", "resources": [],
        "detail": {"type": "link_requested", "shop": "mail-shop", "customer_id": SUBSCRIBER, "date": date},
    });
    let input: MailSweepInput = serde_json::from_value(event).unwrap_or_else(|e| panic!("{e}"));
    sweep.handle(&input).await.unwrap_or_else(|e| panic!("the new-link mail: {e:?}"));
    let sent = store.send(&mail_shop(), &customer, Campaign::NewLink, date).await;
    let sent = sent.unwrap_or_else(|e| panic!("{e:?}")).map(|s| s.state);
    assert!(matches!(sent, Some(SendState::Sent { .. })), "{sent:?}");

    // Re-permission: an import for a customer of the previous tool (reads, the wording, its two
    // consent records, the settings' guarded PutItem, the deferred send's conditional PutItem),
    // and a page of the re-consent run (Query on by_shop).
    let imported_customer = "7654321099556";
    let customer_imported = CustomerId::parse(imported_customer).unwrap_or_else(|e| panic!("{e}"));
    new_customer(&store, &customer_imported, "mia.roth@example.de", None, "iam-imported-profile", now).await;
    let import = json!({"idempotency_key": "iam-import", "source": "Mailchimp",
        "consents": [{"customer_id": imported_customer, "consented_at": "2021-03-04T18:12:00Z"}]});
    let path = "/api/shops/mail-shop/consents/imports";
    let imported = api.handle(request("POST", path, &headers, &json_body(&import))).await;
    assert_eq!(imported.status(), 200, "{}", imported.body());
    assert!(imported.body().contains("\"imported\":1"), "{}", imported.body());
    let run = api.handle(request("POST", "/api/shops/mail-shop/consents/reconsent", &headers, b"{}")).await;
    assert_eq!(run.status(), 200, "{}", run.body());
    let scheduled = store.send(&mail_shop(), &customer_imported, Campaign::Reconsent, date).await;
    assert!(matches!(scheduled, Ok(Some(_))), "{scheduled:?}");

    // The data rights from the same link: the download, then the erasure.
    let download = service.handle(request("GET", &format!("/d/{token}"), &[], b"")).await;
    assert_eq!(download.status(), 200, "{}", download.body());
    let path = format!("/x/{token}");
    let page = service.handle(request("GET", &path, &[], b"")).await;
    let form = format!("csrf={}", hidden_field(page.body(), "csrf"));
    let erased = service.handle(request("POST", &path, &form_headers, form.as_bytes())).await;
    assert_eq!(erased.status(), 200, "{}", erased.body());
    let after = store.customer(&mail_shop(), &customer).await.unwrap_or_else(|e| panic!("{e:?}"));
    assert!(after.is_some_and(|c| c.deleted_at.is_some() && c.profile.email.is_none()), "erased");
}

// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_function_is_granted_exactly_the_aws_calls_its_code_makes() {
    let stack = Stack::create().await;
    let clock = Arc::new(FixedClock::new(t0()));
    let recorders: BTreeMap<&str, Recorder> = FUNCTIONS.iter().map(|(_, f)| (*f, Recorder::default())).collect();

    let (webhook_service, forwarded) = webhooks(&stack, &recorders["webhooks"], &clock).await;
    shopware_flow(&webhook_service).await;
    shopify_and_woo_flow(&webhook_service).await;
    let points_service = points(&stack, &recorders["points"], &clock).await;
    assert!(deliver_events(&points_service, &forwarded.take()).await >= 3, "credits and the refund's reversal");

    let api_service = api(&stack, &recorders["api"], &clock).await;
    let code = api_flow(&api_service).await;
    let racer_recorder = recorders["api"].sharing_calls();
    let racer = api(&stack, &racer_recorder, &clock).await;
    lost_redemption_flow(&api_service, racer, &racer_recorder).await;

    order_with_code(&webhook_service, &code).await;
    assert!(deliver_events(&points_service, &forwarded.take()).await >= 1, "the order that used the code");
    sweep_flow(&stack, &recorders["ledger-sweep"], &clock).await;
    mail_setup(&stack, &webhook_service, &clock).await;
    mail_flow(&stack, &recorders["mail-sweep"], &clock).await;
    mail_feedback_flow(&stack, &recorders["mail-feedback"], &clock).await;
    preferences_flow(&stack, &recorders["preferences"], &clock).await;
    consent_flow(&stack, &recorders, &clock).await;
    shop_erasure_flow(&stack, &webhook_service, &forwarded, &recorders["ledger-sweep"], &clock).await;

    let template: Yaml = serde_yaml::from_str(TEMPLATE).unwrap_or_else(|e| panic!("template.yaml: {e}"));
    assert_every_function_is_covered(&template);
    let mut findings = Vec::new();
    for (logical_id, binary) in FUNCTIONS {
        let needs: BTreeSet<Permission> = recorders[binary]
            .permissions(&stack)
            .into_iter()
            .chain(invoke_destinations(&template, logical_id))
            .collect();
        let grants = granted(&template, logical_id);
        for missing in needs.iter().filter(|need| !grants.iter().any(|grant| covers(grant, need))) {
            findings.push(format!("{logical_id} lacks {} on {:?}, which its code calls", missing.0, missing.1));
        }
        for unused in grants.iter().filter(|grant| !needs.iter().any(|need| covers(grant, need))) {
            findings.push(format!("{logical_id} is granted {} on {:?}, which it never uses", unused.0, unused.1));
        }
    }
    assert!(findings.is_empty(), "infra/template.yaml does not match the calls:\n{}", findings.join("\n"));
}

/// A function added to the template must be driven here too, or its policy goes unchecked.
fn assert_every_function_is_covered(template: &Yaml) {
    let resources = template["Resources"].as_mapping().unwrap_or_else(|| panic!("no Resources"));
    let functions: BTreeSet<&str> = resources
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .filter_map(|(id, _)| id.as_str())
        .collect();
    let covered: BTreeSet<&str> = FUNCTIONS.iter().map(|(id, _)| *id).collect();
    assert_eq!(functions, covered, "every function of the template is driven by this test");
}

/// The two SES wildcards cover a specific resource of their own kind for the same action; nothing
/// else covers anything but itself.
#[test]
fn only_the_two_ses_wildcards_cover_other_resources() {
    let permission = |action: &str, resource: Resource| (action.to_owned(), resource);
    let identity = permission("ses:SendEmail", Resource::SesIdentity(MAIL_SENDER_DOMAIN.into()));
    let set = permission("ses:SendEmail", Resource::SesConfigurationSet("kaffee-marketing".into()));
    assert!(covers(&permission("ses:SendEmail", Resource::AnySesIdentity), &identity));
    assert!(covers(&permission("ses:SendEmail", Resource::AnySesConfigurationSet), &set));
    assert!(!covers(&permission("ses:SendRawEmail", Resource::AnySesIdentity), &identity), "another action");
    assert!(!covers(&permission("ses:SendEmail", Resource::AnySesConfigurationSet), &identity));
    assert!(!covers(&permission("ses:SendEmail", Resource::AnySesIdentity), &set));
    assert!(!covers(&identity, &permission("ses:SendEmail", Resource::SesIdentity("other.example".into()))));
    let index = permission("dynamodb:Query", Resource::Index("by_birthday".into()));
    assert!(!covers(&permission("dynamodb:Query", Resource::Table), &index), "a table is no grant of its indexes");
    assert!(!covers(&permission("dynamodb:Query", Resource::Index("*".into())), &index), "nor is `index/*`");
}

/// The template reader knows SES ARNs only as the two account-wide wildcards.
#[test]
#[should_panic(expected = "unknown resource")]
fn a_named_ses_identity_in_the_template_is_not_read_as_a_wildcard() {
    let arn = "!Sub \"arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/kaffee.example\"";
    resource(&serde_yaml::from_str::<Yaml>(arn).unwrap_or_else(|e| panic!("{e}")));
}
