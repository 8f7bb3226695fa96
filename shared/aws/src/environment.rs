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

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
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

/// What the environment names: the table, the configuration's secret and the bus.
#[derive(Clone, Debug)]
pub struct ResourceNames {
    pub table: String,
    pub config_secret: String,
    /// Only functions that publish need it.
    pub bus: Option<String>,
}

impl ResourceNames {
    /// From `STAMMKUNDE_TABLE`, `STAMMKUNDE_CONFIG_SECRET` (both required) and `STAMMKUNDE_BUS`.
    pub fn from_env() -> Result<ResourceNames, EnvironmentError> {
        Ok(ResourceNames {
            table: required("STAMMKUNDE_TABLE")?,
            config_secret: required("STAMMKUNDE_CONFIG_SECRET")?,
            bus: required("STAMMKUNDE_BUS").ok(),
        })
    }
}

pub struct LambdaEnvironment {
    pub sdk: SdkConfig,
    pub shops: Arc<ShopDirectory>,
    pub store: Arc<DynamoStore>,
    bus: Option<String>,
    interceptors: Vec<SharedInterceptor>,
}

fn required(name: &'static str) -> Result<String, EnvironmentError> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty()).ok_or(EnvironmentError::Missing(name))
}

impl LambdaEnvironment {
    pub async fn load() -> Result<LambdaEnvironment, EnvironmentError> {
        let names = ResourceNames::from_env()?;
        let sdk = crate::sdk::load_sdk_config().await;
        LambdaEnvironment::connect(sdk, names, Vec::new()).await
    }

    /// What `load` builds, from a given SDK configuration and names, with `interceptors` on every
    /// client it makes (a test records each request a function sends, to check its IAM policy).
    pub async fn connect(
        sdk: SdkConfig,
        names: ResourceNames,
        interceptors: Vec<SharedInterceptor>,
    ) -> Result<LambdaEnvironment, EnvironmentError> {
        let mut secrets = aws_sdk_secretsmanager::config::Builder::from(&sdk);
        let mut dynamo = aws_sdk_dynamodb::config::Builder::from(&sdk);
        for interceptor in &interceptors {
            secrets.push_interceptor(interceptor.clone());
            dynamo.push_interceptor(interceptor.clone());
        }
        let secrets = aws_sdk_secretsmanager::Client::from_conf(secrets.build());
        let config = load_app_config(&secrets, &names.config_secret).await?;
        let store = Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(dynamo.build()), names.table));
        Ok(LambdaEnvironment { shops: Arc::new(ShopDirectory::new(config)), store, sdk, bus: names.bus, interceptors })
    }

    /// The bus for functions that publish; only they need `STAMMKUNDE_BUS`.
    pub fn event_bus(&self) -> Result<EventBridgeBus, EnvironmentError> {
        let bus = self.bus.clone().ok_or(EnvironmentError::Missing("STAMMKUNDE_BUS"))?;
        let mut config = aws_sdk_eventbridge::config::Builder::from(&self.sdk);
        for interceptor in &self.interceptors {
            config.push_interceptor(interceptor.clone());
        }
        Ok(EventBridgeBus::new(aws_sdk_eventbridge::Client::from_conf(config.build()), bus))
    }
}
