//! The SAM template's table must be the table the code creates and queries: same keys, same
//! attribute types, same indexes and projections, TTL on the same attribute. A drift would deploy
//! a table the store cannot use, and only on AWS would anyone notice.

mod common;

use serde_yaml::Value;
use std::collections::BTreeSet;

use common::{chain, dynamo_client, unique_name};
use stammkunde_aws::dynamo::{create_table, schema};

/// An index as compared: name, key schema (attribute, key type), projection type.
type Index = (String, Vec<(String, String)>, String);

fn template_table() -> Value {
    let text = include_str!("../../../infra/template.yaml");
    let template: Value = serde_yaml::from_str(text).unwrap_or_else(|e| panic!("template.yaml: {e}"));
    template["Resources"]["Table"]["Properties"].clone()
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_else(|| panic!("expected a string, got {value:?}")).to_owned()
}

fn key_schema(value: &Value) -> Vec<(String, String)> {
    value
        .as_sequence()
        .unwrap_or_else(|| panic!("expected a key schema, got {value:?}"))
        .iter()
        .map(|k| (text(&k["AttributeName"]), text(&k["KeyType"])))
        .collect()
}

#[tokio::test]
async fn the_sam_template_declares_the_table_the_code_creates() {
    let client = dynamo_client().await;
    let name = unique_name("schema");
    if let Err(e) = create_table(&client, &name).await {
        panic!("create_table: {}", chain(&e));
    }
    let described = client.describe_table().table_name(&name).send().await.unwrap_or_else(|e| panic!("{e}"));
    let table = described.table.unwrap_or_else(|| panic!("no table"));
    let template = template_table();

    let created_keys: Vec<(String, String)> =
        table.key_schema().iter().map(|k| (k.attribute_name().to_owned(), k.key_type().as_str().to_owned())).collect();
    assert_eq!(key_schema(&template["KeySchema"]), created_keys);

    let created_attributes: BTreeSet<(String, String)> = table
        .attribute_definitions()
        .iter()
        .map(|a| (a.attribute_name().to_owned(), a.attribute_type().as_str().to_owned()))
        .collect();
    let template_attributes: BTreeSet<(String, String)> = template["AttributeDefinitions"]
        .as_sequence()
        .unwrap_or_else(|| panic!("no attribute definitions"))
        .iter()
        .map(|a| (text(&a["AttributeName"]), text(&a["AttributeType"])))
        .collect();
    assert_eq!(template_attributes, created_attributes);

    let created_indexes: BTreeSet<Index> = table
        .global_secondary_indexes()
        .iter()
        .map(|i| {
            let keys = i.key_schema().iter().map(|k| (k.attribute_name().to_owned(), k.key_type().as_str().to_owned()));
            let projection = i.projection().and_then(|p| p.projection_type()).map(|p| p.as_str().to_owned());
            (i.index_name().unwrap_or_default().to_owned(), keys.collect(), projection.unwrap_or_default())
        })
        .collect();
    let template_indexes: BTreeSet<Index> = template["GlobalSecondaryIndexes"]
        .as_sequence()
        .unwrap_or_else(|| panic!("no indexes"))
        .iter()
        .map(|i| (text(&i["IndexName"]), key_schema(&i["KeySchema"]), text(&i["Projection"]["ProjectionType"])))
        .collect();
    assert_eq!(template_indexes, created_indexes);

    assert_eq!(text(&template["TimeToLiveSpecification"]["AttributeName"]), schema::TTL_ATTRIBUTE);
    assert_eq!(template["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
}
