//! What every Lambda builds once at cold start, from its environment:
//!
//! | variable | what |
//! |---|---|
//! | `STAMMKUNDE_TABLE` | the DynamoDB table |
//! | `STAMMKUNDE_BUS` | the EventBridge bus (functions that publish) |
//! | `STAMMKUNDE_CONFIG_SECRET` | the Secrets Manager secret holding the shop configuration (TOML) |
//!
//! A missing variable or an unreadable configuration fails the cold start with a clear message,
//! rather than every request.

use aws_config::{BehaviorVersion, SdkConfig};
use std::sync::Arc;
use thiserror::Error;

use stammkunde_domain::config::ShopDirectory;

use crate::config::{load_app_config, ConfigLoadError};
use crate::dynamo::DynamoStore;
use crate::eventbridge::EventBridgeBus;

#[derive(Debug, Error)]
pub enum EnvironmentError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("cannot load the shop configuration")]
    Config(#[from] ConfigLoadError),
}

pub struct LambdaEnvironment {
    pub sdk: SdkConfig,
    pub shops: Arc<ShopDirectory>,
    pub store: Arc<DynamoStore>,
}

fn required(name: &'static str) -> Result<String, EnvironmentError> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty()).ok_or(EnvironmentError::Missing(name))
}

impl LambdaEnvironment {
    pub async fn load() -> Result<LambdaEnvironment, EnvironmentError> {
        let table = required("STAMMKUNDE_TABLE")?;
        let secret = required("STAMMKUNDE_CONFIG_SECRET")?;
        let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
        let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
        let config = load_app_config(&secrets, &secret).await?;
        let store = Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table));
        Ok(LambdaEnvironment { shops: Arc::new(ShopDirectory::new(config)), store, sdk })
    }

    /// The bus for functions that publish; only they need `STAMMKUNDE_BUS`.
    pub fn event_bus(&self) -> Result<EventBridgeBus, EnvironmentError> {
        let bus = required("STAMMKUNDE_BUS")?;
        Ok(EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&self.sdk), bus))
    }
}
