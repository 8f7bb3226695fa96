//! AWS adapters: DynamoDB store, EventBridge bus, SES v2 mailer, configuration from Secrets Manager.
//!
//! Each adapter implements a port of `stammkunde_domain::ports` and translates SDK errors into the
//! domain's error enums, keeping the SDK error as `source`.

pub mod config;
pub mod dynamo;
mod environment;
pub mod eventbridge;
mod sdk;
mod sdk_error;
pub mod ses;

pub use config::{load_app_config, ConfigLoadError};
pub use dynamo::{wru_for_item, DynamoStore};
pub use environment::{EnvironmentError, LambdaEnvironment, ResourceNames};
pub use eventbridge::EventBridgeBus;
pub use sdk::{load_sdk_config, sdk_loader};
pub use ses::SesMailer;
