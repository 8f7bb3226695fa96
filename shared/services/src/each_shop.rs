//! The per-shop loop both sweep functions run: every shop is swept even when one fails, and the
//! first failure is reported after all ran (so the schedule's retry covers it).

use std::future::Future;

use stammkunde_domain::config::ShopConfig;
use stammkunde_domain::error::cause_chain;
use stammkunde_domain::ids::ShopId;

pub async fn sweep_each_shop<'a, R, E, F, Fut>(
    sweep_name: &str,
    shops: Vec<&'a ShopConfig>,
    mut sweep: F,
) -> Result<Vec<(ShopId, R)>, E>
where
    F: FnMut(&'a ShopConfig) -> Fut,
    Fut: Future<Output = Result<R, E>>,
    E: std::error::Error,
{
    let mut reports = Vec::with_capacity(shops.len());
    let mut first_error = None;
    for shop in shops {
        match sweep(shop).await {
            Ok(report) => reports.push((shop.id.clone(), report)),
            Err(error) => {
                tracing::error!(shop = %shop.id, sweep = sweep_name, error = %cause_chain(&error), "sweep failed");
                first_error.get_or_insert(error);
            }
        }
    }
    match first_error {
        Some(error) => Err(error),
        None => Ok(reports),
    }
}
