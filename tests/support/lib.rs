//! Harness for the process-level tests: runs the built binaries as a user would
//! (arguments, stdin, env, files) and starts the services the tests need (the
//! ACM-PCA emulator, the Kubernetes fixture API server) on 127.0.0.1.
//!
//! The binaries must be built first (`cargo build --bins`; `make test` does it).

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The directory holding the built binaries (the test executable's profile dir).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/<test-exe>
    exe.parent()
        .and_then(Path::parent)
        .expect("profile dir")
        .to_path_buf()
}

/// Path of a built binary; panics with the fix when it is missing.
pub fn bin(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(
        p.exists(),
        "{} is not built; run `cargo build --bins` first (make test does)",
        p.display()
    );
    p
}

/// The project's Python (the venv `scripts/venv.sh` makes), for the test services.
pub fn python() -> PathBuf {
    let p = root().join(".venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing; run scripts/venv.sh (make test does)",
        p.display()
    );
    p
}

/// A finished process: status, stdout and stderr as text.
#[derive(Debug)]
pub struct Run {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Panics with the whole output unless the exit code is 0.
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "expected success; stderr:\n{}\nstdout:\n{}",
            self.stderr, self.stdout
        );
        self
    }

    /// Panics unless the exit code is `code` and stderr contains every needle.
    #[track_caller]
    pub fn fails(self, code: i32, needles: &[&str]) -> Run {
        assert_eq!(
            self.code, code,
            "expected exit {code}; stderr:\n{}\nstdout:\n{}",
            self.stderr, self.stdout
        );
        for n in needles {
            assert!(
                self.stderr.contains(n),
                "stderr lacks {n:?}:\n{}",
                self.stderr
            );
        }
        self
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// A command ready to run in a working directory.
pub struct Cmd {
    cmd: Command,
    stdin: Option<Vec<u8>>,
}

impl Cmd {
    /// One of the project's binaries, run in `dir`.
    pub fn tool(name: &str, dir: &Path) -> Cmd {
        let mut cmd = Command::new(bin(name));
        cmd.current_dir(dir);
        // Keep the user's environment from steering the tests.
        for v in [
            "PCA_MESH_CA",
            "KUBECONFIG",
            "AWS_PROFILE",
            "AWS_ENDPOINT_URL",
            "AWS_REGION",
        ] {
            cmd.env_remove(v);
        }
        Cmd { cmd, stdin: None }
    }

    /// Any program, run in `dir`.
    pub fn program(program: impl AsRef<OsStr>, dir: &Path) -> Cmd {
        let mut cmd = Command::new(program);
        cmd.current_dir(dir);
        Cmd { cmd, stdin: None }
    }

    /// Adds arguments.
    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Cmd {
        self.cmd.args(args);
        self
    }

    /// Adds one path argument.
    pub fn arg_path(mut self, p: &Path) -> Cmd {
        self.cmd.arg(p);
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, k: &str, v: impl AsRef<OsStr>) -> Cmd {
        self.cmd.env(k, v);
        self
    }

    /// Feeds `data` on standard input.
    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Cmd {
        self.stdin = Some(data.into());
        self
    }

    /// Runs to completion.
    pub fn run(mut self) -> Run {
        self.cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        self.cmd.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = self.cmd.spawn().expect("spawn");
        if let Some(data) = self.stdin.take() {
            let mut si = child.stdin.take().expect("stdin");
            // The tool may refuse and exit before reading: a broken pipe here is fine.
            let _ = si.write_all(&data);
        }
        child.wait_with_output().expect("wait").into()
    }
}

/// Runs a shell pipeline (`bash -o pipefail -c`) in `dir` with the binaries on PATH.
pub fn sh(script: &str, dir: &Path) -> Run {
    let path = format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Cmd::program("bash", dir)
        .args(["-euo", "pipefail", "-c", script])
        .env("PATH", path)
        .run()
}

/// A background service that prints one ready line and exits when its stdin closes.
pub struct Service {
    child: Child,
    _stdin: ChildStdin,
    /// The first line the service printed (its URL or kubeconfig path).
    pub ready_line: String,
}

impl Service {
    /// Starts `python script args...` and waits (at most 30 s) for its first stdout line.
    pub fn start_python(script: &Path, args: &[&str]) -> Service {
        let mut child = Command::new(python())
            .arg(script)
            .args(args)
            .arg("--exit-on-stdin-eof")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start test service");
        let stdin = child.stdin.take().expect("stdin");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut line = String::new();
        out.read_line(&mut line).expect("read ready line");
        assert!(
            Instant::now() < deadline && !line.trim().is_empty(),
            "{} did not start",
            script.display()
        );
        // Drain the rest of stdout so the service never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = out.read_to_end(&mut sink);
        });
        Service {
            child,
            _stdin: stdin,
            ready_line: line.trim().to_string(),
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The ACM-PCA emulator (moto with the project's extension).
pub struct PcaEmulator {
    /// The running server.
    pub service: Service,
}

impl PcaEmulator {
    /// Starts an emulator with extra `serve.py` flags (e.g. `--throttle-every 2`).
    pub fn start(args: &[&str]) -> PcaEmulator {
        let script = root().join("tests/support/pca_emulator/serve.py");
        PcaEmulator {
            service: Service::start_python(&script, args),
        }
    }

    /// The endpoint URL, for `AWS_ENDPOINT_URL`.
    pub fn url(&self) -> &str {
        &self.service.ready_line
    }

    /// Environment for a tool or the aws CLI talking to this emulator.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.url().to_string()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_DEFAULT_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }
}

/// A fresh temporary working directory.
pub fn workdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("pca-mesh-test-")
        .tempdir()
        .expect("tempdir")
}

/// File mode bits (Unix).
#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

/// Parses JSON or panics with the text.
pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

/// The fixture Kubernetes API server (`tests/support/kube_fixture/server.py`), with its
/// kubeconfig in a temporary directory (contexts `fixture`, current, and `other`, whose
/// server refuses connections).
pub struct KubeFixture {
    /// The running server.
    pub service: Service,
    kubeconfig: PathBuf,
    url: String,
    _dir: tempfile::TempDir,
}

impl KubeFixture {
    /// Starts a server with extra flags (e.g. `--seed no-crds`, `--deny delete:secrets`).
    pub fn start(args: &[&str]) -> KubeFixture {
        let dir = tempfile::Builder::new()
            .prefix("kube-fixture-")
            .tempdir()
            .expect("tempdir");
        let kc = dir.path().join("kubeconfig");
        let script = root().join("tests/support/kube_fixture/server.py");
        let mut all = vec!["--kubeconfig", kc.to_str().expect("utf-8 path")];
        all.extend_from_slice(args);
        let service = Service::start_python(&script, &all);
        let kubeconfig = PathBuf::from(&service.ready_line);
        let first = std::fs::read_to_string(&kubeconfig).expect("read kubeconfig");
        let url = first
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# fixture-server: "))
            .expect("kubeconfig names the fixture server")
            .trim()
            .to_string();
        KubeFixture {
            service,
            kubeconfig,
            url,
            _dir: dir,
        }
    }

    /// The kubeconfig file, for `KUBECONFIG` or `--kubeconfig`.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// The server's base URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The comparable end state (`/_fixture/state?volatile=0`): objects without uid,
    /// resourceVersion, timestamps or managedFields; `restartedAt` values as `<set>`.
    pub fn state(&self) -> serde_json::Value {
        self.get("/_fixture/state?volatile=0")
    }

    /// The full state, resourceVersion included: equal before and after means nothing
    /// was written at all.
    pub fn raw_state(&self) -> serde_json::Value {
        self.get("/_fixture/state")
    }

    /// GETs a path of the server and parses the JSON answer.
    pub fn get(&self, path: &str) -> serde_json::Value {
        json(&self.http("GET", path, ""))
    }

    /// Sends a request to a control endpoint and returns the body.
    pub fn http(&self, method: &str, path: &str, body: &str) -> String {
        http(&self.url, method, path, body)
    }
}

/// A one-shot HTTP exchange with a test service's control endpoint (`base_url` is
/// `http://127.0.0.1:PORT`); panics unless the answer is 200 or 201; returns the body.
pub fn http(base_url: &str, method: &str, path: &str, body: &str) -> String {
    use std::net::TcpStream;
    let addr = base_url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect to {base_url}: {e}"));
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("read");
    let (head, body) = resp.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(
        head.contains(" 200 ") || head.contains(" 201 "),
        "{method} {path}: {head}\n{body}"
    );
    body.to_string()
}
