//! The store contract against the MongoDB store, in both write modes and on both save
//! paths (transactions, outbox): nx-27017 started on 127.0.0.1 for this test binary (or
//! the server in `DRIFTGUARD_TEST_MONGODB_URI`), a fresh database per case, dropped when
//! the case passes. nx-27017 describes itself as a standalone server but runs
//! transactions, so each path is forced.

#![allow(clippy::unwrap_used)]

#[macro_use]
mod contract;

use std::sync::Arc;
use std::time::Duration;

use contract::Subject;
use driftguard_store::mongo::SavePath;
use driftguard_store::{BulkWriteMode, MongoStore};
use driftguard_test_support::mongo::{shared, unique_database_name};

/// Generous: nx-27017 serves every test of the binary from one Python process.
const TIMEOUT: Duration = Duration::from_secs(60);

async fn subject_in(mode: BulkWriteMode, path: SavePath) -> Subject {
    let server = shared();
    let name = unique_database_name("driftguard_contract");
    let store = MongoStore::connect(server.uri(), &name, TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test MongoDB server: {e}"))
        .with_bulk_write_mode(mode)
        .with_save_path(path);
    let uri = server.uri().to_owned();
    Subject {
        store: Arc::new(store),
        keep: Box::new(()),
        finish: Some(Box::pin(async move {
            let mut options = mongodb::options::ClientOptions::parse(&uri)
                .await
                .expect("the test server's URI parses");
            options.connect_timeout = Some(TIMEOUT);
            options.server_selection_timeout = Some(TIMEOUT);
            let client = mongodb::Client::with_options(options).expect("client for clean-up");
            if let Err(e) = client.database(&name).drop().await {
                panic!("cannot drop the test database {name}: {e}");
            }
        })),
    }
}

mod client_bulk_write_in_transactions {
    use super::*;

    async fn subject() -> Subject {
        subject_in(BulkWriteMode::ClientBulkWrite, SavePath::Transaction).await
    }

    contract_tests!(subject);
}

mod client_bulk_write_through_outboxes {
    use super::*;

    async fn subject() -> Subject {
        subject_in(BulkWriteMode::ClientBulkWrite, SavePath::Outbox).await
    }

    contract_tests!(subject);
}

mod collection_commands_in_transactions {
    use super::*;

    async fn subject() -> Subject {
        subject_in(BulkWriteMode::CollectionCommands, SavePath::Transaction).await
    }

    contract_tests!(subject);
}

mod collection_commands_through_outboxes {
    use super::*;

    async fn subject() -> Subject {
        subject_in(BulkWriteMode::CollectionCommands, SavePath::Outbox).await
    }

    contract_tests!(subject);
}
