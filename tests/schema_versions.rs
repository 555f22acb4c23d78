//! The store carries its schema version: a host started on a store written
//! by a newer host refuses to start, says what to do, and changes nothing;
//! the same store, back at a version it knows, serves again.

mod support;

use std::process::Command;

use reqwest::StatusCode;
use support::server::{Server, binary};

#[test]
fn a_store_newer_than_the_host_is_refused_and_left_as_it_was() {
    let mut server = Server::start();
    let admin = server.token("admin", "Y90001", None);
    assert_eq!(server.get("/admin/slots", &admin).status(), StatusCode::OK);
    assert!(server.terminate().success(), "{}", server.log());

    let conn = server.connection();
    let known: u32 = conn
        .query_one("SELECT MAX(version) FROM schema_version", &[])
        .and_then(|r| r.get(0))
        .expect("a schema version");
    assert_eq!(known, patchbay::store::migrations::latest());
    conn.execute(
        "INSERT INTO schema_version (version, name, applied_ms) VALUES (?1, 'from a newer host', 0)",
        &[&(known + 1)],
    )
    .expect("a newer version");
    let before: i64 = conn
        .query_one("SELECT COUNT(*) FROM audit_trail", &[])
        .and_then(|r| r.get(0))
        .expect("audit entries");
    drop(conn);

    let refused = Command::new(binary())
        .args(["serve", "--config"])
        .arg(&server.config)
        .output()
        .expect("patchbay serve");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "it served a newer store: {said}");
    assert!(
        said.contains(&format!("schema version {}", known + 1))
            && said.contains("newer")
            && said.contains("nothing was changed"),
        "the refusal does not say what is wrong and what to do: {said}"
    );
    let conn = server.connection();
    let after: i64 = conn
        .query_one("SELECT COUNT(*) FROM audit_trail", &[])
        .and_then(|r| r.get(0))
        .expect("audit entries");
    assert_eq!(before, after, "the refused start wrote to the store");

    // Back at a version it knows (a restored backup), it serves again.
    conn.execute("DELETE FROM schema_version WHERE version > ?1", &[&known])
        .expect("restore");
    drop(conn);
    server.kill_and_restart();
    assert_eq!(server.get("/admin/slots", &admin).status(), StatusCode::OK);
}
