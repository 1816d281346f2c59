//! The remote cache against a real S3-compatible server (moto's, which `.ci/run`
//! installs), started on the loopback interface by each test: runners sharing renders,
//! damaged and truncated objects, a server that is down, dies mid-render or stalls,
//! read-only mode, secrets, and a build split into shards.
//!
//! Without the server these tests print why and pass locally; under CI (`CI=true`) they
//! fail instead, so a missing install can never pass for a green run.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::support::{files_under, ran, scratch, stderr, write_stem};

const BUCKET_PREFIX: &str = "label/ci";
const SECRET: &str = "s3cr3t-Zq9x7Lw2-never-shown";

/// A moto S3 server on 127.0.0.1, stopped when dropped (or when this process ends: it
/// exits when its standard input closes).
struct S3Server {
    child: Child,
    port: u16,
}

impl S3Server {
    /// Starts a server, or says why it cannot: a failure under CI, a skip elsewhere.
    fn start() -> Option<Self> {
        let port = free_port();
        let script = "import sys\n\
            from moto.server import ThreadedMotoServer\n\
            server = ThreadedMotoServer(ip_address='127.0.0.1', port=int(sys.argv[1]), verbose=False)\n\
            server.start()\n\
            print('ready', flush=True)\n\
            sys.stdin.read()\n\
            server.stop()\n";
        let spawned = Command::new("python3")
            .args(["-c", script, &port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => return unavailable(&format!("python3 cannot run ({e})")),
        };
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout is piped");
        let _ = BufReader::new(stdout).read_line(&mut line);
        if line.trim() != "ready" {
            let _ = child.kill();
            let _ = child.wait();
            return unavailable("moto's server did not start (is `moto[server]` installed?)");
        }
        let server = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the S3 server never listened on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(server)
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Makes a bucket, and returns the remote address of a prefix in it.
    fn bucket(&self, name: &str) -> String {
        let (status, _) = http(self.port, "PUT", &format!("/{name}"), &[]);
        assert_eq!(status, 200, "creating bucket {name}");
        format!("s3://{name}/{BUCKET_PREFIX}")
    }

    /// Every object under the prefix: its name and bytes.
    fn objects(&self, bucket: &str) -> Vec<(String, Vec<u8>)> {
        let (status, listing) =
            http(self.port, "GET", &format!("/{bucket}?list-type=2&prefix={BUCKET_PREFIX}/"), &[]);
        assert_eq!(status, 200);
        let listing = String::from_utf8(listing).unwrap();
        let keys = regex::Regex::new("<Key>([^<]+)</Key>").unwrap();
        keys.captures_iter(&listing)
            .map(|c| {
                let name = c[1].to_owned();
                let (status, bytes) = http(self.port, "GET", &format!("/{bucket}/{name}"), &[]);
                assert_eq!(status, 200);
                (name, bytes)
            })
            .collect()
    }

    fn put(&self, bucket: &str, name: &str, bytes: &[u8]) {
        let (status, _) = http(self.port, "PUT", &format!("/{bucket}/{name}"), bytes);
        assert_eq!(status, 200);
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unavailable(reason: &str) -> Option<S3Server> {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the S3 test server is required under CI: {reason}; .ci/run installs it"
    );
    eprintln!("skipping a remote cache test: {reason}");
    None
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One plain HTTP/1.1 request with a placeholder signature, which moto does not check:
/// the status and the body.
fn http(port: u16, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: AWS4-HMAC-SHA256 \
         Credential=testing/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete response");
    let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    assert!(!head.contains("transfer-encoding: chunked"), "{head}");
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap();
    (status, response[split + 4..].to_vec())
}

/// A song with three tracks, a bus with a chain and a master chain, so that every sum
/// keeps an entry.
fn write_song(dir: &Path, name: &str, seed: u64) {
    write_song_of(dir, name, seed, 1.2);
}

/// A song of `seconds`, its stems a little longer.
fn write_song_of(dir: &Path, name: &str, seed: u64, seconds: f64) {
    for (stem, k) in [("kick", 0), ("bass", 1), ("vox", 2)] {
        write_stem(&dir.join(format!("{name}-{stem}.wav")), 48_000, seconds + 0.3, seed * 10 + k);
    }
    let yaml = format!(
        "mix: {name}\nsample_rate: 48 kHz\nlength: {seconds} s\ntracks:\n  kick:\n    source: {name}-kick.wav\n    to: band\n  bass:\n    source: {name}-bass.wav\n    to: band\n    chain:\n      - lowpass: {{ freq: 2 kHz }}\n  vox:\n    source: {name}-vox.wav\n    chain:\n      - compressor: {{ threshold: -20 dB, ratio: 3 }}\nbuses:\n  band:\n    chain:\n      - highpass: {{ freq: 40 Hz }}\nmaster:\n  chain:\n    - limiter: {{ ceiling: -1 dB }}\n"
    );
    std::fs::write(dir.join(format!("{name}.yaml")), yaml).unwrap();
}

/// A runner: its own cache and output folders under `dir`, the remote at `address`.
struct Runner<'a> {
    dir: &'a Path,
    name: &'a str,
    endpoint: String,
    address: String,
}

impl Runner<'_> {
    fn render(&self, extra: &[&str]) -> Output {
        let cache = format!("{}-cache", self.name);
        let out = format!("{}-out", self.name);
        let mut args = vec!["render", "song.yaml", "-v", "--cache", &cache, "--out", &out];
        args.extend_from_slice(extra);
        self.command(&args)
    }

    /// Runs `mixdown` with the remote's address in `MIXDOWN_REMOTE`, unless it is empty.
    fn command(&self, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mixdown"));
        if self.address.is_empty() {
            command.env_remove("MIXDOWN_REMOTE");
        } else {
            command.env("MIXDOWN_REMOTE", &self.address);
        }
        command
            .args(args)
            .current_dir(self.dir)
            .env("NO_COLOR", "1")
            .env_remove("MIXDOWN_CACHE")
            .env_remove("MIXDOWN_REMOTE_MODE")
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .expect("the binary runs")
    }

    fn output_digest(&self) -> String {
        digest(&self.dir.join(format!("{}-out/song.wav", self.name)))
    }
}

fn digest(path: &Path) -> String {
    format!("{:x}", Sha256::digest(std::fs::read(path).unwrap()))
}

fn succeeded(output: &Output) -> String {
    let text = stderr(output);
    assert!(output.status.success(), "{text}");
    text
}

fn warnings(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.starts_with("warning:")).collect()
}

/// A session: a server, a bucket, a song, and runners on them.
struct Session {
    server: S3Server,
    work: tempfile::TempDir,
    address: String,
    bucket: String,
}

impl Session {
    fn start(bucket: &str) -> Option<Self> {
        Self::with_song_of(bucket, 1.2)
    }

    /// A session whose song lasts `seconds`.
    fn with_song_of(bucket: &str, seconds: f64) -> Option<Self> {
        let server = S3Server::start()?;
        let address = server.bucket(bucket);
        let work = scratch();
        write_song_of(work.path(), "song", 1, seconds);
        Some(Self { server, work, address, bucket: bucket.to_owned() })
    }

    /// The nodes whose entries the remote holds, named by their manifests, in order.
    fn shared_nodes(&self) -> Vec<String> {
        node_ids(&self.server.objects(&self.bucket))
    }

    fn runner<'a>(&'a self, name: &'a str) -> Runner<'a> {
        Runner {
            dir: self.work.path(),
            name,
            endpoint: self.server.endpoint(),
            address: self.address.clone(),
        }
    }

    fn runner_via<'a>(&'a self, name: &'a str, port: u16) -> Runner<'a> {
        Runner { endpoint: format!("http://127.0.0.1:{port}"), ..self.runner(name) }
    }

    /// A plain local render's output, to compare against.
    fn reference(&self) -> String {
        let plain = Command::new(env!("CARGO_BIN_EXE_mixdown"))
            .args(["render", "song.yaml", "--cache", "plain-cache", "--out", "plain-out"])
            .current_dir(self.work.path())
            .env_remove("MIXDOWN_REMOTE")
            .output()
            .unwrap();
        succeeded(&plain);
        digest(&self.work.path().join("plain-out/song.wav"))
    }
}

#[test]
fn a_second_runner_with_an_empty_cache_renders_no_dsp_node_and_writes_the_same_bytes() {
    let Some(session) = Session::start("shared") else { return };
    let a = session.runner("a");
    let first = a.render(&[]);
    let text = succeeded(&first);
    assert!(ran(&first).len() > 5, "{text}");
    assert!(text.contains("uploaded") && text.contains("s3://shared/label/ci"), "{text}");
    assert_eq!(warnings(&text), Vec::<&str>::new());
    // The tracks and buses cost less to render again than to fetch; the master is shared.
    assert_eq!(session.shared_nodes(), ["song/master"], "{text}");
    let b = session.runner("b");
    let second = b.render(&[]);
    let text = succeeded(&second);
    assert_eq!(ran(&second), ["song/output"], "{text}");
    assert_eq!(b.output_digest(), a.output_digest());
    assert_eq!(b.output_digest(), session.reference());
    assert!(!text.contains("uploaded"), "B rendered nothing to share: {text}");
    let stats = b.command(&["cache", "stats", "--cache", "b-cache"]);
    let stats = String::from_utf8_lossy(&stats.stdout).into_owned();
    // The master's entry, and the measurement of the output's audio, which B's output
    // reports without measuring.
    assert!(stats.contains("remote: 2 hits"), "{stats}");
    assert!(!text.contains("measured "), "{text}");
}

#[test]
fn damaged_or_truncated_objects_are_caught_rendered_again_and_replaced() {
    let Some(session) = Session::start("damage") else { return };
    let first = session.runner("a").render(&[]);
    succeeded(&first);
    let pristine = session.server.objects(&session.bucket);
    let (master, intact) = pristine
        .iter()
        .find(|(_, bytes)| String::from_utf8_lossy(bytes).contains("\"node\":\"song/master\""))
        .expect("the master's entry was uploaded");
    let mut flipped = intact.clone();
    flipped[intact.len() / 3] ^= 0x40;
    let truncated = intact[..intact.len() / 2].to_vec();
    for (runner, damaged) in [("b", flipped), ("c", truncated)] {
        session.server.put(&session.bucket, master, &damaged);
        let rendered = session.runner(runner).render(&[]);
        let text = succeeded(&rendered);
        // Only the master was shared, so everything upstream of it renders here too.
        assert_eq!(sorted(ran(&rendered)), sorted(ran(&first)), "{text}");
        let warned = warnings(&text);
        assert_eq!(warned.len(), 1, "{text}");
        assert!(warned[0].contains("damaged") && warned[0].contains("uploaded again"), "{text}");
        assert_eq!(session.runner(runner).output_digest(), session.reference());
        let now = session.server.objects(&session.bucket);
        let replaced = now.iter().find(|(name, _)| name == master).unwrap();
        assert_eq!(&replaced.1, intact, "{runner}: the object was replaced by a sound one");
    }
}

#[test]
fn an_entry_sent_in_pieces_is_shared_whole_and_a_damaged_piece_is_caught_and_replaced() {
    // A master of 25 s is 9.6 MB: more than one piece.
    let Some(session) = Session::with_song_of("pieces", 25.0) else { return };
    let first = session.runner("a").render(&[]);
    succeeded(&first);
    let pristine = session.server.objects(&session.bucket);
    let pieces: Vec<&(String, Vec<u8>)> =
        pristine.iter().filter(|(name, _)| name.ends_with(".1")).collect();
    let [(piece, intact)] = pieces.as_slice() else { panic!("one entry stored in pieces") };
    let second = session.runner("b").render(&[]);
    let text = succeeded(&second);
    assert_eq!(ran(&second), ["song/output"], "{text}");
    assert_eq!(session.runner("b").output_digest(), session.reference());
    let mut flipped = intact.clone();
    flipped[intact.len() / 2] ^= 0x40;
    session.server.put(&session.bucket, piece, &flipped);
    let third = session.runner("c").render(&[]);
    let text = succeeded(&third);
    assert_eq!(sorted(ran(&third)), sorted(ran(&first)), "{text}");
    let warned = warnings(&text);
    assert_eq!(warned.len(), 1, "{text}");
    assert!(warned[0].contains("damaged") && warned[0].contains("uploaded again"), "{text}");
    assert_eq!(session.runner("c").output_digest(), session.reference());
    let now = session.server.objects(&session.bucket);
    let replaced = now.iter().find(|(name, _)| name == piece).unwrap();
    assert!(&replaced.1 == intact, "the damaged piece was replaced by a sound one");
}

#[test]
fn a_server_that_is_down_costs_one_warning_and_the_render_completes() {
    let Some(session) = Session::start("down") else { return };
    let nothing_listens = free_port();
    let runner = session.runner_via("a", nothing_listens);
    let started = Instant::now();
    let rendered = runner.render(&[]);
    let text = succeeded(&rendered);
    assert!(started.elapsed() < Duration::from_mins(1), "{text}");
    let warned = warnings(&text);
    assert_eq!(warned.len(), 1, "{text}");
    assert!(warned[0].contains("remote cache") && warned[0].contains("without it"), "{text}");
    assert_eq!(runner.output_digest(), session.reference());
}

#[test]
fn a_server_that_dies_mid_render_costs_one_warning_and_the_render_completes() {
    let Some(session) = Session::start("dies") else { return };
    succeeded(&session.runner("a").render(&[]));
    // Look-ups answer; the server is gone by the time the first entry is downloaded.
    let proxy = Proxy::start(session.server.port, Behaviour::DieOnFirstDownload);
    let runner = session.runner_via("b", proxy.port);
    let rendered = runner.render(&[]);
    let text = succeeded(&rendered);
    assert!(proxy.died.load(Ordering::Acquire), "the proxy saw a download: {text}");
    assert_eq!(warnings(&text).len(), 1, "{text}");
    assert!(ran(&rendered).len() > 5, "rendered here instead: {text}");
    assert_eq!(runner.output_digest(), session.reference());
}

#[test]
fn a_stalled_server_is_given_up_on_after_the_request_timeout() {
    let Some(session) = Session::start("stalls") else { return };
    let proxy = Proxy::start(session.server.port, Behaviour::Stall);
    let runner = session.runner_via("a", proxy.port);
    let started = Instant::now();
    let rendered = runner.render(&["--remote-timeout", "1s"]);
    let took = started.elapsed();
    let text = succeeded(&rendered);
    assert!(took < Duration::from_secs(20), "took {took:?}: {text}");
    let warned = warnings(&text);
    assert_eq!(warned.len(), 1, "{text}");
    assert!(warned[0].contains("s3://stalls") && warned[0].contains("without it"), "{text}");
    assert_eq!(runner.output_digest(), session.reference());
}

#[test]
fn read_only_mode_uploads_nothing_and_read_write_then_shares_the_master() {
    let Some(session) = Session::start("forks") else { return };
    let fork = session.runner("fork");
    let text = succeeded(&fork.render(&["--remote-mode", "read"]));
    assert!(!text.contains("upload"), "{text}");
    assert!(session.server.objects(&session.bucket).is_empty());
    let main = session.runner("main");
    let rendered = main.render(&["--remote-mode", "read-write"]);
    succeeded(&rendered);
    assert_eq!(session.shared_nodes(), ["song/master"]);
}

#[test]
fn the_settings_file_names_the_remote_and_its_mode_and_a_flag_overrides_the_mode() {
    let Some(session) = Session::start("settings") else { return };
    let settings = format!("cache:\n  remote: {}\n  remote_mode: read\n", session.address);
    std::fs::write(session.work.path().join("mixdown.yaml"), settings).unwrap();
    let from_file = Runner { address: String::new(), ..session.runner("fork") };
    let text = succeeded(&from_file.render(&[]));
    assert!(!text.contains("upload"), "read mode, from the file: {text}");
    assert!(session.server.objects(&session.bucket).is_empty());
    let flagged = Runner { address: String::new(), ..session.runner("main") };
    let rendered = flagged.render(&["--remote-mode", "read-write"]);
    succeeded(&rendered);
    assert_eq!(session.shared_nodes(), ["song/master"]);
}

#[test]
fn a_secret_in_the_environment_never_appears_in_output_or_in_the_cache() {
    let Some(session) = Session::start("secrets") else { return };
    let up = session.runner("up").render(&[]);
    let down = session.runner_via("down", free_port()).render(&[]);
    let stats = session.runner("up").command(&["cache", "stats", "--cache", "up-cache"]);
    for output in [&up, &down, &stats] {
        for stream in [&output.stdout, &output.stderr] {
            assert!(!String::from_utf8_lossy(stream).contains(SECRET));
        }
    }
    assert!(stderr(&down).contains("warning:"), "the failure was reported");
    for folder in ["up-cache", "down-cache", "up-out", "down-out"] {
        for file in files_under(&session.work.path().join(folder)) {
            let bytes = std::fs::read(&file).unwrap();
            let found = bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes());
            assert!(!found, "{} holds the secret", file.display());
        }
    }
}

#[test]
fn two_shards_then_a_final_render_with_an_empty_cache_render_no_dsp_node_there() {
    let Some(session) = Session::start("shards") else { return };
    let one = session.runner("one").render(&["--shard", "1/2"]);
    let two = session.runner("two").render(&["--shard", "2/2"]);
    let (one_text, two_text) = (succeeded(&one), succeeded(&two));
    // A mix is one unit of work: its master with everything it reads.
    assert!(ran(&one).contains(&"song/master".to_owned()), "{one_text}");
    assert!(ran(&two).is_empty() && two_text.contains("nothing to render"), "{two_text}");
    assert!(!session.work.path().join("one-out/song.wav").exists(), "a shard writes no file");
    let last = session.runner("final").render(&[]);
    let text = succeeded(&last);
    assert_eq!(ran(&last), ["song/output"], "{text}");
    assert_eq!(session.runner("final").output_digest(), session.reference());
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// The nodes named by the manifests of `objects`, in order.
fn node_ids(objects: &[(String, Vec<u8>)]) -> Vec<String> {
    let node = regex::bytes::Regex::new(r#""node":"([^"]+)""#).unwrap();
    let mut ids: Vec<String> = objects
        .iter()
        .filter_map(|(_, bytes)| node.captures(bytes))
        .map(|c| String::from_utf8_lossy(&c[1]).into_owned())
        .collect();
    ids.sort();
    ids
}

/// What the loopback proxy in front of the server does.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    /// Accepts connections and never answers.
    Stall,
    /// Passes requests on until the first download, then closes everything and refuses
    /// new connections, as a server that died would.
    DieOnFirstDownload,
}

struct Proxy {
    port: u16,
    died: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    accepting: Option<JoinHandle<()>>,
}

impl Proxy {
    fn start(upstream: u16, behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let died = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (died_in, stop_in) = (Arc::clone(&died), Arc::clone(&stop));
        let accepting = std::thread::spawn(move || {
            let mut held = Vec::new();
            let deadline = Instant::now() + Duration::from_mins(2);
            while !stop_in.load(Ordering::Acquire)
                && !died_in.load(Ordering::Acquire)
                && Instant::now() < deadline
            {
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        match behaviour {
                            Behaviour::Stall => held.push(client),
                            Behaviour::DieOnFirstDownload => {
                                forward(client, upstream, Arc::clone(&died_in));
                            }
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
            // Dropping the listener refuses every later connection.
        });
        Self { port, died, stop, accepting: Some(accepting) }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(accepting) = self.accepting.take() {
            let _ = accepting.join();
        }
    }
}

/// Copies bytes both ways between `client` and the server until either side closes, or a
/// download request passes, which closes both.
fn forward(client: TcpStream, upstream: u16, died: Arc<AtomicBool>) {
    let server = TcpStream::connect(("127.0.0.1", upstream)).unwrap();
    let (mut client_in, mut server_out) =
        (client.try_clone().unwrap(), server.try_clone().unwrap());
    let (mut server_in, mut client_out) = (server, client);
    let close_both = {
        let (a, b) = (client_in.try_clone().unwrap(), server_out.try_clone().unwrap());
        move || {
            let _ = a.shutdown(Shutdown::Both);
            let _ = b.shutdown(Shutdown::Both);
        }
    };
    std::thread::spawn(move || {
        let mut buffer = vec![0; 64 * 1024];
        while let Ok(n) = client_in.read(&mut buffer) {
            if n == 0 || died.load(Ordering::Acquire) {
                break;
            }
            if buffer[..n].starts_with(b"GET /") && !buffer[..n].starts_with(b"GET /?") {
                died.store(true, Ordering::Release);
                break;
            }
            if server_out.write_all(&buffer[..n]).is_err() {
                break;
            }
        }
        close_both();
    });
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut server_in, &mut client_out);
    });
}

/// Renders `targets` of `graph` with a local cache at `cache` and the remote at `address`
/// on `server`, waiting for the uploads; returns the ids of the nodes that ran.
fn render_with_remote(
    graph: &mixdown::graph::RenderGraph,
    targets: &[petgraph::graph::NodeIndex],
    cache: &Path,
    out: &Path,
    server: &S3Server,
    address: &str,
) -> Vec<String> {
    use mixdown::audio::encode::Encoding;
    use mixdown::audio::resample::RESAMPLER_QUALITY;
    use mixdown::audio::wav::WavFormat;
    use mixdown::cache::folder::CacheDir;
    use mixdown::cache::keys::Keys;
    use mixdown::cache::remote::address::Address;
    use mixdown::cache::remote::object_store::OpenDal;
    use mixdown::cache::remote::{Mode, Remote};
    use mixdown::cache::store::Store;
    use mixdown::render::{Delivery, Settings, render};

    let endpoint = server.endpoint();
    let env = move |name: &str| match name {
        "AWS_ENDPOINT_URL" => Some(endpoint.clone()),
        "AWS_ACCESS_KEY_ID" => Some("testing".to_owned()),
        "AWS_SECRET_ACCESS_KEY" => Some(SECRET.to_owned()),
        _ => None,
    };
    let address = Address::parse(address).unwrap();
    let objects = OpenDal::connect_with(&address, Duration::from_secs(10), &env).unwrap();
    let remote = Remote::new(Arc::new(objects), Mode::ReadWrite);
    let keys = Keys::compute(graph, RESAMPLER_QUALITY, |path| {
        std::fs::read(path)
            .map(|bytes| blake3::hash(&bytes).to_hex().to_string())
            .map_err(|e| e.to_string())
    })
    .unwrap();
    let cache = CacheDir::new(cache);
    let store = Store::local(&cache).with_remote(Arc::clone(&remote));
    let delivery =
        Delivery { out_dir: out.to_path_buf(), encoding: Encoding::Wav(WavFormat::Pcm24) };
    let settings = Settings { jobs: 2, delivery };
    let report = render(graph, &keys, &store, &cache, targets, &settings, &Silent).unwrap();
    remote.finish_uploads(&|_, _| {});
    assert_eq!(remote.take_warnings(), Vec::<String>::new());
    report.rendered()
}

struct Silent;

impl mixdown::render::Progress for Silent {
    fn planned(&self, _: usize) {}
    fn finished(&self, _: &str) {}
}

#[test]
fn songs_split_over_two_shards_leave_the_final_render_only_their_outputs() {
    use mixdown::compile::resolve;
    use mixdown::graph::GraphBuilder;
    use mixdown::render::{Shard, shard_targets};

    let Some(server) = S3Server::start() else { return };
    let address = server.bucket("album");
    let work = scratch();
    let mut builder = GraphBuilder::default();
    for (song, seed) in [("one", 1), ("two", 2), ("three", 3)] {
        write_song(work.path(), song, seed);
        let resolved = resolve(&work.path().join(format!("{song}.yaml")))
            .unwrap_or_else(|broken| panic!("{:?}", broken.diagnostics));
        builder.add_mix(&resolved.mix, &format!("album/{song}"));
    }
    let graph = builder.finish();
    let mut dealt = Vec::new();
    for index in 1..=2 {
        let shard = Shard { index, count: 2 };
        let share = shard_targets(&graph, &graph.targets, shard);
        let ids: Vec<String> = share.iter().map(|&i| graph.graph[i].id.clone()).collect();
        assert!(!share.is_empty(), "{shard}: {ids:?}");
        let cache = work.path().join(format!("shard-{index}"));
        let ran = render_with_remote(&graph, &share, &cache, &cache, &server, &address);
        assert!(ran.iter().all(|id| !id.ends_with("/output")), "{ran:?}");
        dealt.extend(ids);
    }
    dealt.sort();
    let masters = ["album/one/master", "album/three/master", "album/two/master"];
    assert_eq!(dealt, masters, "each song's master on exactly one shard");
    let bucket = address.trim_start_matches("s3://").split('/').next().unwrap();
    assert_eq!(node_ids(&server.objects(bucket)), masters, "the shards shared their masters");
    let out = work.path().join("out");
    let last = render_with_remote(
        &graph,
        &graph.targets,
        &work.path().join("final"),
        &out,
        &server,
        &address,
    );
    assert_eq!(last, ["album/one/output", "album/three/output", "album/two/output"]);
}

#[test]
fn an_album_of_finished_songs_is_split_by_its_encodes_and_the_final_render_only_writes_files() {
    let Some(session) = Session::start("encodes") else { return };
    let dir = session.work.path();
    for (seed, name) in [(41, "one"), (42, "two"), (43, "three")] {
        write_stem(&dir.join(format!("{name}.wav")), 48_000, 5.0, seed);
    }
    let album = "album: Finished\nartist: Runners\nsample_rate: 48 kHz\nsongs:\n  - file: one.wav\n    title: One\n  - file: two.wav\n    title: Two\n  - file: three.wav\n    title: Three\nmastering:\n  chain:\n    - eq:\n        - { type: highpass, freq: 30 Hz, slope: 24 }\n  loudness: { target: -16 LUFS, mode: album, ceiling: -1 dBTP }\ndeliver:\n  web:\n    format: flac\n    bit_depth: 16\n    split: songs\n";
    std::fs::write(dir.join("album.yaml"), album).unwrap();
    let render = |runner: &str, extra: &[&str]| {
        let (cache, out) = (format!("{runner}-cache"), format!("{runner}-out"));
        let mut args = vec!["render", "album.yaml", "-v", "--cache", &cache, "--out", &out];
        args.extend_from_slice(extra);
        session.runner(runner).command(&args)
    };
    let (one, two) = (render("one", &["--shard", "1/2"]), render("two", &["--shard", "2/2"]));
    let encodes = |output: &Output| -> Vec<String> {
        ran(output).into_iter().filter(|id| id.contains("/encode/")).collect()
    };
    let (first, second) = (encodes(&one), encodes(&two));
    let (one_text, two_text) = (succeeded(&one), succeeded(&two));
    assert!(!first.is_empty() && !second.is_empty(), "{one_text}\n{two_text}");
    assert!(first.iter().all(|id| !second.contains(id)), "{first:?} and {second:?}");
    assert_eq!(first.len() + second.len(), 3, "{first:?} and {second:?}");
    // Its encodes need the album's gain, so each shard makes every song: a song made from
    // a file costs less to make again than to fetch, and none is shared.
    let songs = |output: &Output| ran(output).iter().filter(|id| id.ends_with("/song")).count();
    assert_eq!((songs(&one), songs(&two)), (3, 3), "{one_text}\n{two_text}");
    assert!(session.shared_nodes().iter().all(|id| !id.ends_with("/song")));
    let last = render("final", &[]);
    let text = succeeded(&last);
    // The files, and the report's figures pooled from the segments' records.
    let files = ["album/web/deliver/one", "album/web/deliver/three", "album/web/deliver/two"];
    assert_eq!(sorted(ran(&last)), [&["album/loudness/delivered"][..], &files].concat(), "{text}");
    let plain = Runner { address: String::new(), ..session.runner("plain") };
    succeeded(&plain.command(&[
        "render",
        "album.yaml",
        "--cache",
        "plain-cache",
        "--out",
        "plain-out",
    ]));
    for file in ["web/01 One.flac", "web/02 Two.flac", "web/03 Three.flac", "report.json"] {
        let path = |runner: &str| dir.join(format!("{runner}-out/{file}"));
        assert_eq!(digest(&path("final")), digest(&path("plain")), "{file}");
    }
}

#[test]
fn an_album_of_mixes_is_split_by_its_songs() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let work = scratch();
    let (cache, out) = (work.path().join("cache"), work.path().join("out"));
    let mut songs = Vec::new();
    for shard in ["1/2", "2/2"] {
        let args = ["render", "album.yaml", "--dry-run", "--shard", shard, "--cache"];
        let mut command = Command::new(env!("CARGO_BIN_EXE_mixdown"));
        command.args(args).arg(&cache).arg("--out").arg(&out).current_dir(&examples);
        let run = command.env_remove("MIXDOWN_REMOTE").env_remove("MIXDOWN_CACHE").output();
        let run = run.expect("the binary runs");
        let text = format!("{}{}", String::from_utf8_lossy(&run.stdout), stderr(&run));
        let planned: Vec<&str> =
            text.lines().filter_map(|line| line.strip_prefix("render")).map(str::trim).collect();
        assert!(!planned.iter().any(|id| id.contains("/encode/")), "{shard}: {text}");
        songs.extend(planned.iter().filter(|id| id.ends_with("/song")).map(|id| (*id).to_owned()));
    }
    // Each song's mix is made on exactly one shard; the final render makes the rest.
    assert_eq!(sorted(songs), ["first-light/song", "interlude/song", "tidewater/song"]);
}

/// Two songs and an album of them in `session`'s folder.
fn write_album(session: &Session) {
    let dir = session.work.path();
    write_song(dir, "one", 2);
    write_song(dir, "two", 3);
    let album = "album: Shared\nartist: Runners\nsample_rate: 48 kHz\nsongs:\n  - mix: one.yaml\n    title: One\n  - mix: two.yaml\n    title: Two\n    gap: 0.5 s\nmastering:\n  loudness: { target: -16 LUFS, mode: album, ceiling: -1 dBTP }\ndeliver:\n  web:\n    format: flac\n    bit_depth: 16\n    split: songs\n";
    std::fs::write(dir.join("album.yaml"), album).unwrap();
}

/// Renders the album of [`write_album`] as `runner`.
fn render_album(session: &Session, runner: &str) -> Output {
    let (cache, out) = (format!("{runner}-cache"), format!("{runner}-out"));
    session.runner(runner).command(&[
        "render",
        "album.yaml",
        "-v",
        "--cache",
        &cache,
        "--out",
        &out,
    ])
}

#[test]
fn an_album_on_a_second_runner_takes_its_analyses_and_encodes_from_the_remote_and_only_writes_files()
 {
    let Some(session) = Session::start("album") else { return };
    write_album(&session);
    let dir = session.work.path();
    let render = |runner: &str| render_album(&session, runner);
    let first = render("a");
    let text = succeeded(&first);
    assert_eq!(warnings(&text), Vec::<&str>::new(), "{text}");
    let shared = session.shared_nodes();
    assert!(shared.contains(&"one/song".to_owned()), "{shared:?}");
    let encodes = shared.iter().filter(|id| id.contains("/encode/")).count();
    assert_eq!(encodes, 2, "each song's encoded file is shared: {shared:?}");
    let local = |id: &String| id.contains("/track/") || id.contains("/segment/");
    assert!(!shared.iter().any(local), "tracks and segments stay local: {shared:?}");
    let second = render("b");
    let text = succeeded(&second);
    assert_eq!(warnings(&text), Vec::<&str>::new(), "{text}");
    let ran = ran(&second);
    assert!(ran.iter().all(|id| id.contains("/deliver/")), "only the files are written: {text}");
    assert_eq!(ran.len(), 2, "{text}");
    for file in ["web/01 One.flac", "web/02 Two.flac", "report.json"] {
        let path = |runner: &str| dir.join(format!("{runner}-out/{file}"));
        assert_eq!(digest(&path("b")), digest(&path("a")), "{file}");
    }
}

#[test]
fn a_damaged_record_on_the_server_is_caught_and_its_node_rendered_again() {
    let Some(session) = Session::start("records") else { return };
    write_album(&session);
    succeeded(&render_album(&session, "a"));
    let records: Vec<(String, Vec<u8>)> = session
        .server
        .objects(&session.bucket)
        .into_iter()
        .filter(|(_, bytes)| bytes.starts_with(br#"{"version":1,"key":""#))
        .collect();
    let analysis = records
        .iter()
        .find(|(_, bytes)| String::from_utf8_lossy(bytes).contains("gains_db"))
        .expect("an analysis's record was uploaded");
    let mut damaged = analysis.1.clone();
    damaged.truncate(damaged.len() / 2);
    session.server.put(&session.bucket, &analysis.0, &damaged);
    let second = render_album(&session, "b");
    let text = succeeded(&second);
    let warned = warnings(&text);
    assert_eq!(warned.len(), 1, "{text}");
    assert!(warned[0].contains("damaged"), "{text}");
    assert!(ran(&second).iter().any(|id| id.starts_with("album/loudness")), "{text}");
    let path = |runner: &str| session.work.path().join(format!("{runner}-out/web/01 One.flac"));
    assert_eq!(digest(&path("b")), digest(&path("a")));
}

#[test]
fn a_segment_the_remote_keeps_only_the_record_of_renders_here_when_its_audio_is_read() {
    let Some(session) = Session::start("formats") else { return };
    write_album(&session);
    succeeded(&render_album(&session, "a"));
    // Another word length: the encodes change and read their segments' audio, which the
    // remote does not keep.
    let path = session.work.path().join("album.yaml");
    let edited = std::fs::read_to_string(&path).unwrap().replace("bit_depth: 16", "bit_depth: 24");
    std::fs::write(&path, edited).unwrap();
    let second = render_album(&session, "b");
    let text = succeeded(&second);
    assert_eq!(warnings(&text), Vec::<&str>::new(), "{text}");
    let ran = ran(&second);
    assert!(ran.iter().any(|id| id.contains("/segment/")), "{text}");
    assert!(ran.iter().any(|id| id.contains("/encode/")), "{text}");
    assert!(!ran.iter().any(|id| id.contains("/track/")), "the songs came from the remote: {text}");
    let plain = Runner { address: String::new(), ..session.runner("plain") };
    let (cache, out) = ("plain-cache", "plain-out");
    succeeded(&plain.command(&["render", "album.yaml", "--cache", cache, "--out", out]));
    let file = |runner: &str| session.work.path().join(format!("{runner}-out/web/02 Two.flac"));
    assert_eq!(digest(&file("b")), digest(&file("plain")));
}

#[test]
fn a_second_runner_checks_a_tracks_assertion_from_the_remote() {
    let Some(session) = Session::start("asserts") else { return };
    let path = session.work.path().join("song.yaml");
    let asserted = std::fs::read_to_string(&path).unwrap().replace(
        "    source: song-vox.wav\n",
        "    source: song-vox.wav\n    assert:\n      true_peak: { max: 0 dBTP }\n",
    );
    std::fs::write(&path, asserted).unwrap();
    let first = session.runner("a").render(&[]);
    let text = succeeded(&first);
    assert!(text.contains("assertions: 1 passed"), "{text}");
    assert_eq!(session.shared_nodes(), ["song/master", "song/track/vox"]);
    let second = session.runner("b").render(&[]);
    let text = succeeded(&second);
    assert!(text.contains("assertions: 1 passed"), "the track came from the remote: {text}");
    assert_eq!(ran(&second), ["song/output"], "{text}");
}
