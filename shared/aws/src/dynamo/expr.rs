//! Expression placeholders. Every attribute name goes through `#name` placeholders because short
//! names collide with DynamoDB's reserved words (`AT`, `BY`, `TO`, …) in ways that are easy to miss.

use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

#[derive(Debug, Default)]
pub(crate) struct Expr {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    /// The placeholder for an attribute name.
    pub(crate) fn name(&mut self, attribute: &str) -> String {
        let placeholder = format!("#{attribute}");
        self.names.insert(placeholder.clone(), attribute.to_owned());
        placeholder
    }

    /// A fresh placeholder bound to `value`.
    pub(crate) fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    /// `SET #a = :v0, #b = :v1` for the given attributes, or `None` when there are none.
    pub(crate) fn set_clause(&mut self, attributes: Vec<(&str, AttributeValue)>) -> Option<String> {
        let assignments: Vec<String> = attributes
            .into_iter()
            .map(|(name, value)| {
                let name = self.name(name);
                let value = self.value(value);
                format!("{name} = {value}")
            })
            .collect();
        (!assignments.is_empty()).then(|| format!("SET {}", assignments.join(", ")))
    }

    /// Names for `expression_attribute_names`; `None` if unused (DynamoDB refuses an empty map).
    pub(crate) fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    /// Values for `expression_attribute_values`; `None` if unused.
    pub(crate) fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}
