//! The database a test's store lives in: SQLite by default, or, when
//! `PATCHBAY_TEST_ENGINE=postgres`, a fresh PostgreSQL database with a random
//! name on the server at `PATCHBAY_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/test`), dropped when the test ends.
//! The test command runs the end-to-end suites once per engine.

use patchbay::store::database::Location;

/// The PostgreSQL server's address when none is given.
const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Whether this run's tests use PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var("PATCHBAY_TEST_ENGINE").is_ok_and(|e| e == "postgres")
}

/// A PostgreSQL database made for one test, dropped (with whatever
/// connections are left) when this is dropped.
pub struct TestDatabase {
    admin_url: String,
    name: String,
    /// Its connection string.
    pub url: String,
}

impl TestDatabase {
    /// A new database, if this run uses PostgreSQL.
    pub fn for_this_run() -> Option<TestDatabase> {
        on_postgres().then(TestDatabase::create)
    }

    /// A new, empty database on the test server.
    pub fn create() -> TestDatabase {
        let admin_url =
            std::env::var("PATCHBAY_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.into());
        let name = format!(
            "patchbay_test_{}",
            patchbay::store::records::new_id().replace('-', "")
        );
        let mut admin = postgres::Client::connect(&admin_url, postgres::NoTls)
            .expect("the test PostgreSQL server (PATCHBAY_TEST_POSTGRES)");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create the test database");
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(base, _)| base);
        let url = format!("{base}/{name}");
        TestDatabase {
            admin_url,
            name,
            url,
        }
    }

    /// Where it is, as the host names a store.
    pub fn location(&self) -> Location {
        Location::Postgres(self.url.clone())
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(&self.admin_url, postgres::NoTls) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}
