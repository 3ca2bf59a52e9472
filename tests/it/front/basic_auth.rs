//! `basic_auth`: 401 with `WWW-Authenticate` without valid credentials,
//! bcrypt only, `Authorization` never forwarded, the file re-read on reload.

use super::common::*;
use super::metric;
use base64::Engine;

fn basic(user: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

const YAML: &str = "listeners: [{ address: \"{LISTEN}\" }]\nadmin: { address: \"127.0.0.1:0\" }\n\
                    upstreams: { p: { servers: [{ address: \"{b0}\" }] } }\n\
                    routes: [{ name: admin, upstream: p, basic_auth: { realm: ops, users_file: users.htpasswd } }]\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_listed_user_with_its_password_gets_through() {
    let b = spawn_backend("b").await;
    let dir = process::TempDir::new();
    let ann = bcrypt::hash("correct horse", 4).unwrap();
    std::fs::write(
        dir.0.join("users.htpasswd"),
        format!("# ops team\nann:{}\n", ann.replacen("$2b$", "$2y$", 1)),
    )
    .unwrap();
    let lb = spawn_lb_file_in(dir, YAML, &[&b]).await;
    let c = client();
    let none = send(&c, lb.addr, "GET", "/", &[]).await;
    assert_eq!(none.status, 401);
    assert_eq!(
        none.headers["www-authenticate"],
        "Basic realm=\"ops\", charset=\"UTF-8\""
    );
    assert_eq!(none.body, "401 Unauthorized: authentication required\n");
    for (user, password) in [("ann", "wrong"), ("nobody", "correct horse"), ("ann", "")] {
        let auth = basic(user, password);
        let r = send(&c, lb.addr, "GET", "/", &[("authorization", auth.as_str())]).await;
        assert_eq!(r.status, 401, "{user}:{password}");
    }
    assert_eq!(b.traffic(), 0);
    let auth = basic("ann", "correct horse");
    let ok = send(&c, lb.addr, "GET", "/", &[("authorization", auth.as_str())]).await;
    assert_eq!(ok.status, 200);
    assert!(
        b.seen().last().unwrap().headers.get("authorization").is_none(),
        "credentials stay here"
    );
    let labels = [("route", "admin"), ("reason", "basic_auth")];
    assert_eq!(
        metric(lb.admin.unwrap(), "fulcrum_access_denied_total", &labels).await,
        4.0
    );
    // the users file is read again on reload
    let bob = bcrypt::hash("battery staple", 4).unwrap();
    std::fs::write(lb.dir.0.join("users.htpasswd"), format!("bob:{bob}\n")).unwrap();
    lb.handle.reload().await.unwrap();
    let r = send(&c, lb.addr, "GET", "/", &[("authorization", auth.as_str())]).await;
    assert_eq!(r.status, 401, "ann was removed");
    let auth = basic("bob", "battery staple");
    assert_eq!(
        send(&c, lb.addr, "GET", "/", &[("authorization", auth.as_str())])
            .await
            .status,
        200
    );
    // a bad file fails the reload, naming its line; bob keeps getting in
    std::fs::write(lb.dir.0.join("users.htpasswd"), format!("bob:{bob}\neve:$apr1$x$y\n")).unwrap();
    let e = lb.handle.reload().await.unwrap_err().to_string();
    assert!(
        e.contains("routes[0].basic_auth.users_file") && e.contains("line 2:") && e.contains("only bcrypt"),
        "{e}"
    );
    assert_eq!(
        send(&c, lb.addr, "GET", "/", &[("authorization", auth.as_str())])
            .await
            .status,
        200
    );
}
