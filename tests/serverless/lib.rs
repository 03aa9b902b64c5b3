//! A local serverless stack for the end-to-end tests: the resources of
//! `infra/template.yaml` created in moto by `scripts/serverless_stack.py`, the real Lambda
//! functions served by `cargo lambda watch` (moto forwards every invocation to it, see
//! `scripts/moto_server.py`), and helpers to call them as API Gateway and the state machine
//! do.
//!
//! The test command (`scripts/test`) starts moto and exports `FERRY_TEST_AWS_ENDPOINT`.
//! Without it the tests say they were not run; with `FERRY_REQUIRE_AWS_EMULATOR=1` a
//! missing emulator fails them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What `scripts/serverless_stack.py` created.
#[derive(Debug, Clone, Deserialize)]
pub struct Resources {
    pub table: String,
    pub bucket: String,
    pub queue_url: String,
    pub queue_arn: String,
    pub dead_letter_queue_url: String,
    pub kms_key_id: String,
    pub functions: BTreeMap<String, String>,
    pub state_machines: BTreeMap<String, String>,
}

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .to_owned()
}

/// The emulator's endpoint, or `None` (and a note) when the tests run without one.
pub fn emulator() -> Option<String> {
    match std::env::var("FERRY_TEST_AWS_ENDPOINT") {
        Ok(endpoint) => Some(endpoint),
        Err(_) => {
            assert!(
                std::env::var("FERRY_REQUIRE_AWS_EMULATOR").is_err(),
                "FERRY_REQUIRE_AWS_EMULATOR is set but FERRY_TEST_AWS_ENDPOINT is not"
            );
            eprintln!(
                "not run: FERRY_TEST_AWS_ENDPOINT is not set (scripts/test starts moto and sets it)"
            );
            None
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `cargo lambda watch` process, stopped with its functions when dropped.
pub struct Watch {
    child: Child,
    pub invoke_url: String,
    pub log: PathBuf,
}

impl Watch {
    /// Stops watch and the functions it runs (its process group).
    pub fn stop(&mut self) {
        let pid = self.child.id();
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop();
    }
}

pub struct Stack {
    pub endpoint: String,
    pub resources: Resources,
    pub watch: Watch,
    pub http: reqwest::Client,
    pub clients: ferry_aws::AwsClients,
    port: u16,
    env_file: PathBuf,
    /// Holds the env file and the logs while the stack lives.
    _dir: tempfile::TempDir,
}

/// Where `cargo lambda watch` builds the functions: a target directory of its own, since
/// the `cargo test` running these tests holds the lock of its own target directory.
/// `scripts/test` builds the functions there first (`FERRY_LAMBDA_TARGET_DIR`), so the
/// first invocations do not wait for a build.
pub fn lambda_target_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("FERRY_LAMBDA_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    std::env::var("CARGO_TARGET_DIR")
        .map_or_else(|_| workspace_root().join("target"), PathBuf::from)
        .join("lambda-watch")
}

fn start_watch(port: u16, env_file: &Path, log: PathBuf) -> Watch {
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap();
    let mut command = Command::new("cargo");
    command
        .current_dir(workspace_root())
        .env("CARGO_TARGET_DIR", lambda_target_dir())
        .args([
            "lambda",
            "watch",
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
            &port.to_string(),
            "--env-file",
        ])
        .arg(env_file)
        .arg("--ignore-changes")
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file);
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    let child = command.spawn().expect("cargo lambda watch starts");
    Watch {
        child,
        invoke_url: format!("http://127.0.0.1:{port}"),
        log,
    }
}

impl Stack {
    /// Creates the resources (names end in `suffix`) and starts `cargo lambda watch` with
    /// the functions' settings plus `settings`.
    pub async fn start(endpoint: &str, suffix: &str, settings: &BTreeMap<String, String>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let invoke_url = format!("http://127.0.0.1:{port}");
        let python = std::env::var("FERRY_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let output = Command::new(&python)
            .arg(workspace_root().join("scripts/serverless_stack.py"))
            .args([
                "--endpoint",
                endpoint,
                "--suffix",
                suffix,
                "--forward-url",
                &invoke_url,
            ])
            .output()
            .expect("python runs scripts/serverless_stack.py");
        assert!(
            output.status.success(),
            "serverless_stack.py failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let resources: Resources = serde_json::from_slice(&output.stdout).unwrap();

        let mut env = BTreeMap::from([
            ("AWS_ENDPOINT_URL".to_owned(), endpoint.to_owned()),
            ("AWS_ACCESS_KEY_ID".to_owned(), "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY".to_owned(), "test".to_owned()),
            ("AWS_REGION".to_owned(), "us-east-1".to_owned()),
            ("FERRY_TABLE".to_owned(), resources.table.clone()),
            ("FERRY_STAGING_BUCKET".to_owned(), resources.bucket.clone()),
            (
                "FERRY_CHUNK_QUEUE_URL".to_owned(),
                resources.queue_url.clone(),
            ),
            ("FERRY_KMS_KEY_ID".to_owned(), resources.kms_key_id.clone()),
            (
                "FERRY_STATE_MACHINE_ARN".to_owned(),
                resources.state_machines["migration"].clone(),
            ),
            (
                "FERRY_ROLLBACK_STATE_MACHINE_ARN".to_owned(),
                resources.state_machines["rollback"].clone(),
            ),
            ("RUST_LOG".to_owned(), "info".to_owned()),
        ]);
        env.extend(settings.clone());
        let env_file = dir.path().join("functions.env");
        std::fs::write(
            &env_file,
            env.iter()
                .map(|(name, value)| format!("{name}={value}\n"))
                .collect::<String>(),
        )
        .unwrap();
        let watch = start_watch(port, &env_file, dir.path().join("watch.log"));
        let config = aws_config_for(endpoint).await;
        let stack = Self {
            endpoint: endpoint.to_owned(),
            resources,
            watch,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(900))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            clients: ferry_aws::AwsClients::from_sdk_config(&config),
            port,
            env_file,
            _dir: dir,
        };
        stack.wait_for_watch().await;
        stack
    }

    /// Stops `cargo lambda watch` and its functions and starts it again on the same port, as
    /// Lambda starts a fresh sandbox after one died (watch does not restart a killed
    /// function by itself).
    pub async fn restart_watch(&mut self) {
        self.watch.stop();
        self.watch = start_watch(self.port, &self.env_file, self.watch.log.clone());
        self.wait_for_watch().await;
    }

    async fn wait_for_watch(&self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if self
                .http
                .get(&self.watch.invoke_url)
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "cargo lambda watch did not listen within 2 minutes:\n{}",
                self.watch_log()
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// What `cargo lambda watch` and the functions logged so far.
    pub fn watch_log(&self) -> String {
        std::fs::read_to_string(&self.watch.log).unwrap_or_default()
    }

    /// Invokes a function directly (as API Gateway would), answering its payload or its
    /// error (`errorType`, `errorMessage`).
    pub async fn invoke(&self, function: &str, payload: &Value) -> Result<Value, Value> {
        let response = self
            .http
            .post(format!(
                "{}/2015-03-31/functions/{function}/invocations",
                self.watch.invoke_url
            ))
            .json(payload)
            .send()
            .await
            .unwrap_or_else(|error| panic!("invoking {function}: {error}\n{}", self.watch_log()));
        let failed = response.headers().contains_key("x-amz-function-error")
            || !response.status().is_success();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if failed { Err(body) } else { Ok(body) }
    }

    /// Calls the `api` function as the HTTP API would for `account`.
    pub async fn api(
        &self,
        account: &str,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, Value) {
        let event = http_event(account, method, path, query, body);
        let answer = self
            .invoke("api", &event)
            .await
            .unwrap_or_else(|error| panic!("api failed: {error}\n{}", self.watch_log()));
        let status = answer["statusCode"].as_u64().unwrap() as u16;
        let body = serde_json::from_str(answer["body"].as_str().unwrap_or("null")).unwrap();
        (status, body)
    }

    /// Calls the `api` function with an `Idempotency-Key`; answers the status, the body
    /// and whether the answer was a stored one (`idempotent-replayed`).
    pub async fn api_keyed(
        &self,
        account: &str,
        method: &str,
        path: &str,
        key: &str,
        body: Option<Value>,
    ) -> (u16, Value, bool) {
        let mut event = http_event(account, method, path, &[], body);
        event["headers"]["idempotency-key"] = Value::String(key.to_owned());
        let answer = self
            .invoke("api", &event)
            .await
            .unwrap_or_else(|error| panic!("api failed: {error}\n{}", self.watch_log()));
        let status = answer["statusCode"].as_u64().unwrap() as u16;
        let body = serde_json::from_str(answer["body"].as_str().unwrap_or("null")).unwrap();
        let replayed = answer["headers"]["idempotent-replayed"] == "true";
        (status, body, replayed)
    }

    /// Polls `GET /migrations/{id}` until it is `dry_run_ready` with a dry run of its
    /// current selections (`dry_run_revision` = `selections.revision`).
    pub async fn wait_for_dry_run(&self, account: &str, id: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let body = self
                .wait_for_status(account, id, &["dry_run_ready"], timeout)
                .await;
            if body["dry_run_revision"] == body["selections"]["revision"] {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "no dry run of the selections: {body}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// `POST path` without a body, as `account`.
    pub async fn post(&self, account: &str, path: &str) -> (u16, Value) {
        self.api(account, "POST", path, &[], None).await
    }

    /// `GET path`, as `account`.
    pub async fn get(&self, account: &str, path: &str) -> (u16, Value) {
        self.api(account, "GET", path, &[], None).await
    }

    /// Polls `GET /migrations/{id}` until its status is one of `wanted`, failing the test on
    /// any status in `fatal` or after `timeout`.
    pub async fn wait_for_status(
        &self,
        account: &str,
        id: &str,
        wanted: &[&str],
        timeout: Duration,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let (status, body) = self.get(account, &format!("/migrations/{id}")).await;
            assert_eq!(status, 200, "{body}");
            let current = body["status"].as_str().unwrap_or_default().to_owned();
            if wanted.contains(&current.as_str()) {
                return body;
            }
            assert!(
                current != "failed",
                "the migration failed: {body}\n{}",
                self.watch_log()
            );
            assert!(
                Instant::now() < deadline,
                "migration {id} still {current} after {timeout:?}: {body}\n{}",
                self.watch_log()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// An API Gateway HTTP API (payload 2.0) event signed by `account`.
pub fn http_event(
    account: &str,
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    body: Option<Value>,
) -> Value {
    let query: BTreeMap<&str, &str> = query.iter().copied().collect();
    json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&"),
        "headers": {"content-type": "application/json"},
        "queryStringParameters": query,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "ferry-tests"},
            "authorizer": {"iam": {"accountId": account, "userArn": format!("arn:aws:iam::{account}:user/saas-backend"), "userId": "AIDATEST"}},
            "requestId": "test",
            "routeKey": format!("{method} {path}"),
            "stage": "$default",
            "time": "22/Nov/2026:00:00:00 +0000",
            "timeEpoch": 0
        },
        "body": body.map(|body| body.to_string()),
        "isBase64Encoded": false
    })
}

/// An SDK configuration for the emulator.
pub async fn aws_config_for(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await
}

impl Stack {
    /// Kills (SIGKILL) this stack's running `function` processes, as a crash or Lambda's
    /// timeout would: descendants of this `cargo lambda watch` whose executable is the
    /// function's binary. Answers how many it killed.
    pub fn kill_function(&self, function: &str) -> usize {
        let watch = self.watch.child.id();
        let suffix = format!("/{function}");
        let parent_of = |pid: u32| -> Option<u32> {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
            stat.rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        };
        let mut killed = 0;
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(exe) = std::fs::read_link(format!("/proc/{pid}/exe")) else {
                continue;
            };
            if !exe.to_string_lossy().ends_with(&suffix) {
                continue;
            }
            let mut ancestor = parent_of(pid);
            let mut ours = false;
            while let Some(next) = ancestor.filter(|pid| *pid > 1) {
                if next == watch {
                    ours = true;
                    break;
                }
                ancestor = parent_of(next);
            }
            if ours
                && Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status()
                    .is_ok_and(|status| status.success())
            {
                killed += 1;
            }
        }
        killed
    }

    /// Sends one message to the chunk queue. moto delivers it (and any message due again)
    /// to the `load` function during the call, as the event source mapping does.
    pub async fn send_chunk(&self, message: &ferry_model::ports::ChunkMessage) {
        self.clients
            .sqs
            .send_message()
            .queue_url(&self.resources.queue_url)
            .message_body(serde_json::to_string(message).unwrap())
            .send()
            .await
            .unwrap();
    }
}

/// A pass-through proxy in front of the destination that can hold one request after the
/// destination has handled it, as if the caller died before reading the answer.
pub struct HoldingProxy {
    pub url: String,
    armed: std::sync::Arc<std::sync::Mutex<Option<Hold>>>,
}

struct Hold {
    path_contains: String,
    held: tokio::sync::oneshot::Sender<()>,
    release: tokio::sync::oneshot::Receiver<()>,
}

/// Signals of an armed [`HoldingProxy`].
pub struct Armed {
    pub held: tokio::sync::oneshot::Receiver<()>,
    pub release: tokio::sync::oneshot::Sender<()>,
}

impl HoldingProxy {
    pub async fn start(target: &str) -> Self {
        use axum::body::Bytes;
        use axum::http::{HeaderMap, Method, StatusCode, Uri};
        use axum::response::IntoResponse;
        let armed: std::sync::Arc<std::sync::Mutex<Option<Hold>>> = Default::default();
        let target = target.trim_end_matches('/').to_owned();
        let client = reqwest::Client::new();
        let state = armed.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let (client, target, state) = (client.clone(), target.clone(), state.clone());
                async move {
                    let path = uri
                        .path_and_query()
                        .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned());
                    let mut request = client.request(
                        reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap(),
                        format!("{target}{path}"),
                    );
                    for (name, value) in &headers {
                        if name != "host" && name != "content-length" {
                            request = request.header(name.as_str(), value.as_bytes());
                        }
                    }
                    let response = match request.body(body.to_vec()).send().await {
                        Ok(response) => response,
                        Err(_) => return StatusCode::BAD_GATEWAY.into_response(),
                    };
                    let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
                    let content_type = response
                        .headers()
                        .get("content-type")
                        .and_then(|value| value.to_str().ok())
                        .unwrap_or("application/json")
                        .to_owned();
                    let bytes = response.bytes().await.unwrap_or_default();
                    let hold = {
                        let mut armed = state.lock().unwrap();
                        if armed
                            .as_ref()
                            .is_some_and(|hold| path.contains(&hold.path_contains))
                        {
                            armed.take()
                        } else {
                            None
                        }
                    };
                    if let Some(hold) = hold {
                        // The destination did the work; the caller never hears of it.
                        let _ = hold.held.send(());
                        let _ = hold.release.await;
                        return StatusCode::BAD_GATEWAY.into_response();
                    }
                    (status, [("content-type", content_type)], bytes).into_response()
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url: format!("http://{address}"),
            armed,
        }
    }

    /// Holds the next request whose path contains `path_contains`, after the destination
    /// handled it.
    pub fn arm(&self, path_contains: &str) -> Armed {
        let (held_sender, held) = tokio::sync::oneshot::channel();
        let (release, release_receiver) = tokio::sync::oneshot::channel();
        *self.armed.lock().unwrap() = Some(Hold {
            path_contains: path_contains.to_owned(),
            held: held_sender,
            release: release_receiver,
        });
        Armed { held, release }
    }
}
