//! Item sizes and write request units, by AWS's documented rules ("DynamoDB item sizes and
//! formats"): an item's size is the sum of its attribute names and values in bytes; a string is
//! its UTF-8 bytes; a number is about one byte per two significant digits plus one; binary is its
//! raw bytes; null and boolean are one byte; a list or map costs 3 bytes plus 1 byte per element
//! (plus, in a map, each element's name). One write request unit covers 1 KB; a transactional
//! write costs twice that, which callers apply themselves.

use aws_sdk_dynamodb::types::AttributeValue;

use super::codec::Item;

const WRITE_UNIT_BYTES: usize = 1024;
const COLLECTION_OVERHEAD_BYTES: usize = 3;
const ELEMENT_OVERHEAD_BYTES: usize = 1;

/// The item's size in bytes as DynamoDB counts it for capacity.
pub fn item_size_bytes(item: &Item) -> usize {
    item.iter().map(|(name, value)| name.len() + value_size_bytes(value)).sum()
}

/// Write request units for one standard (non-transactional) write of `item`: 1 per started KB,
/// at least 1.
pub fn wru_for_item(item: &Item) -> u32 {
    let units = item_size_bytes(item).div_ceil(WRITE_UNIT_BYTES).max(1);
    u32::try_from(units).unwrap_or(u32::MAX)
}

fn value_size_bytes(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(text) => text.len(),
        AttributeValue::N(text) => number_size_bytes(text),
        AttributeValue::B(blob) => blob.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(texts) => texts.iter().map(String::len).sum(),
        AttributeValue::Ns(numbers) => numbers.iter().map(|n| number_size_bytes(n)).sum(),
        AttributeValue::Bs(blobs) => blobs.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(values) => {
            COLLECTION_OVERHEAD_BYTES
                + values.iter().map(|v| ELEMENT_OVERHEAD_BYTES + value_size_bytes(v)).sum::<usize>()
        }
        AttributeValue::M(fields) => {
            COLLECTION_OVERHEAD_BYTES
                + fields.iter().map(|(k, v)| ELEMENT_OVERHEAD_BYTES + k.len() + value_size_bytes(v)).sum::<usize>()
        }
        // A type added to the SDK after this was written: count its debug form, an overestimate
        // rather than a silent zero.
        other => format!("{other:?}").len(),
    }
}

/// `(significant digits / 2, rounded up) + 1`. Leading and trailing zeros are not significant,
/// nor are the sign, the decimal point or an exponent.
fn number_size_bytes(text: &str) -> usize {
    let mantissa = text.split(['e', 'E']).next().unwrap_or_default();
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
    significant.div_ceil(2) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_count_significant_digits_only() {
        assert_eq!(number_size_bytes("0"), 1);
        assert_eq!(number_size_bytes("7"), 2);
        assert_eq!(number_size_bytes("1000"), 2);
        assert_eq!(number_size_bytes("-12.50"), 3);
        assert_eq!(number_size_bytes("123"), 3);
        assert_eq!(number_size_bytes("0.00123"), 3);
        assert_eq!(number_size_bytes("1763884800.123456789"), 11);
    }
}
