//! What the emulator test files share: clients for the emulator the test command starts,
//! and fresh, uniquely named resources so tests can share one emulator.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use ferry_aws::AwsClients;
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Clients for the emulator at `FERRY_TEST_AWS_ENDPOINT`. Without it the tests say they were
/// not run; under the test command (`FERRY_REQUIRE_AWS_EMULATOR=1`) a missing emulator fails
/// them.
pub async fn clients() -> Option<AwsClients> {
    let Ok(endpoint) = std::env::var("FERRY_TEST_AWS_ENDPOINT") else {
        assert!(
            std::env::var("FERRY_REQUIRE_AWS_EMULATOR").is_err(),
            "FERRY_REQUIRE_AWS_EMULATOR is set but FERRY_TEST_AWS_ENDPOINT is not"
        );
        eprintln!(
            "not run: FERRY_TEST_AWS_ENDPOINT is not set (scripts/test starts moto and sets it)"
        );
        return None;
    };
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await;
    Some(AwsClients::from_sdk_config(&config))
}

/// `prefix` made unique to this process and call.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// A fresh table with the `pk`/`sk` string keys every Ferry table has.
pub async fn table(clients: &AwsClients, prefix: &str) -> String {
    let table = unique(prefix);
    let key = |name: &str, key_type| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .unwrap()
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    clients
        .dynamodb
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .attribute_definitions(attribute("pk"))
        .attribute_definitions(attribute("sk"))
        .send()
        .await
        .unwrap();
    table
}

/// A fresh bucket.
pub async fn bucket(clients: &AwsClients, prefix: &str) -> String {
    let bucket = unique(prefix);
    clients
        .s3
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    bucket
}
