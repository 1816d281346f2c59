//! The remote cache on a loopback S3-compatible server (`s3s-fs` when installed, as
//! `cargo install s3s-fs --locked --features binary` does (`s3s-fs@0.14.1` on Rust 1.95),
//! otherwise moto's, as the tests start it):
//! a cold render uploading its entries against one without a remote, a render with an
//! empty local cache and a warm remote, two shards run side by side plus the final
//! assembly, and each shard alone, as on a runner of its own. Each figure is set against
//! the cold local render of the same run, and the median of those shares printed. Prints
//! figures; asserts nothing; without either server it says why and stops.
//!
//!     cargo bench --bench remote -- [--stems 16] [--seconds 180] [--runs 1] [--album DIR]
//!
//! The session is the render benchmark's reference mix over the same generated stems
//! (`target/bench-sessions/ref<stems>x<seconds>`); `--seconds 20` makes a quick run.
//! `--album DIR` renders `DIR/album.yaml` instead (the reference album of the album
//! benchmark), split by song across the shards.

#[path = "common/args.rs"]
mod args;
#[path = "common/project.rs"]
#[allow(dead_code)]
// The render benchmark nudges the project's knobs; this one renders it as written.
mod project;
#[path = "render/reference_mix.rs"]
mod reference_mix;
#[path = "common/stem.rs"]
mod stem;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use args::option;
use project::{Knob, Project};
use stem::{RATE, write_stem};

/// An S3-compatible server on 127.0.0.1, stopped when dropped: `s3s-fs` (native, from
/// crates.io) when it is installed, otherwise moto's (Python, as the tests start it). A
/// server on the same cores takes its share of them, and moto's takes more.
struct Server {
    child: Child,
    port: u16,
    /// Where `s3s-fs` keeps its buckets, one folder each; `None` for moto.
    root: Option<PathBuf>,
    name: &'static str,
}

impl Server {
    fn start(scratch: &Path) -> Result<Self, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        match Self::start_s3s_fs(scratch, port) {
            Some(server) => server,
            None => Self::start_moto(port),
        }
    }

    /// `None` when `s3s-fs` is not installed.
    fn start_s3s_fs(scratch: &Path, port: u16) -> Option<Result<Self, String>> {
        let root = scratch.join("s3s-fs");
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).ok()?;
        let child = Command::new("s3s-fs")
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", "bench", "--secret-key", "bench"])
            .arg(&root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let server = Self { child, port, root: Some(root), name: "s3s-fs" };
        let listening = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(50));
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Some(if listening { Ok(server) } else { Err("s3s-fs did not start listening".into()) })
    }

    fn start_moto(port: u16) -> Result<Self, String> {
        let script = "import sys\n\
            from moto.server import ThreadedMotoServer\n\
            server = ThreadedMotoServer(ip_address='127.0.0.1', port=int(sys.argv[1]), verbose=False)\n\
            server.start()\n\
            print('ready', flush=True)\n\
            sys.stdin.read()\n";
        let mut child = Command::new("python3")
            .args(["-c", script, &port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("neither s3s-fs nor python3 can run ({e})"))?;
        let mut line = String::new();
        let _ = BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line);
        let server = Self { child, port, root: None, name: "moto" };
        if line.trim() != "ready" {
            return Err(
                "neither s3s-fs nor moto's server started (is `moto[server]` installed?)".into()
            );
        }
        // Requests that wait for moto to listen are retried by the client; give it a moment.
        std::thread::sleep(Duration::from_millis(500));
        Ok(server)
    }

    /// Makes a bucket; returns the address of a prefix in it.
    fn bucket(&self, name: &str) -> String {
        if let Some(root) = &self.root {
            std::fs::create_dir_all(root.join(name)).expect("bucket folder");
            return format!("s3://{name}/bench");
        }
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        let request = format!(
            "PUT /{name} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).expect("request");
        let mut reply = String::new();
        let _ = stream.read_to_string(&mut reply);
        assert!(reply.starts_with("HTTP/1.1 200"), "creating bucket {name}: {reply}");
        format!("s3://{name}/bench")
    }

    /// Removes every bucket's objects (`s3s-fs` only: moto keeps them in memory).
    fn empty(&self) {
        if let Some(root) = &self.root {
            let _ = std::fs::remove_dir_all(root);
            let _ = std::fs::create_dir_all(root);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The reference session with its stems generated; returns its folder.
fn session(stems: usize, seconds: f64) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/bench-sessions")
        .join(format!("ref{stems}x{seconds}"));
    std::fs::create_dir_all(&dir).expect("session dir");
    let frames = (seconds * f64::from(RATE)) as usize;
    for (i, name) in reference_mix::stem_names(stems).iter().enumerate() {
        let path = dir.join(format!("{name}.wav"));
        if !path.exists() {
            write_stem(&path, frames, i as u64 + 1);
        }
    }
    let Project { yaml, .. } = reference_mix::project(stems, seconds);
    std::fs::write(dir.join("mix.yaml"), yaml).expect("project");
    dir
}

/// A `mixdown render` of `file` in `dir` with a fresh cache `name`, sharing `remote` if
/// given.
fn render(
    dir: &Path,
    file: &str,
    port: u16,
    name: &str,
    remote: Option<&str>,
    extra: &[&str],
) -> Command {
    for folder in [format!("cache-{name}"), format!("out-{name}")] {
        let _ = std::fs::remove_dir_all(dir.join(folder));
    }
    let (cache, out) = (format!("cache-{name}"), format!("out-{name}"));
    let mut command = Command::new(env!("CARGO_BIN_EXE_mixdown"));
    command
        .args(["render", file, "-q", "--cache", &cache, "--out", &out])
        .args(extra)
        .current_dir(dir)
        .env_remove("MIXDOWN_CACHE")
        .env_remove("MIXDOWN_REMOTE_MODE")
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    match remote {
        Some(address) => command.env("MIXDOWN_REMOTE", address),
        None => command.env_remove("MIXDOWN_REMOTE"),
    };
    command
}

/// Runs the commands side by side; returns the wall seconds until the last ends.
fn timed(commands: Vec<Command>) -> f64 {
    let started = Instant::now();
    let children: Vec<Child> =
        commands.into_iter().map(|mut c| c.spawn().expect("run mixdown")).collect();
    for child in children {
        let out = child.wait_with_output().expect("mixdown ends");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    started.elapsed().as_secs_f64()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let stems = option("--stems", 16.0) as usize;
    let seconds = option("--seconds", 180.0);
    let runs = option("--runs", 1.0).max(1.0) as usize;
    let album = args::value("--album").map(PathBuf::from);
    let (dir, file, what) = match &album {
        Some(dir) => (dir.clone(), "album.yaml", format!("album {}", dir.display())),
        None => (
            session(stems, seconds),
            "mix.yaml",
            format!("reference mix, {stems} stems × {seconds} s"),
        ),
    };
    let server = match Server::start(&dir) {
        Ok(server) => server,
        Err(reason) => {
            println!("skipped: {reason}");
            return;
        }
    };
    let port = server.port;
    println!("session: {what}, {} S3 on loopback, {runs} runs (median)", server.name);
    let mut figures: [Vec<f64>; 6] = Default::default();
    for run in 0..runs {
        let uploaded = server.bucket(&format!("up{run}"));
        let sharded = server.bucket(&format!("shards{run}"));
        // The cold render and the uploading one take turns going first, so that neither
        // always meets the disk the other left busy.
        let cold = || timed(vec![render(&dir, file, port, "cold", None, &[])]);
        let up = || timed(vec![render(&dir, file, port, "up", Some(&uploaded), &[])]);
        let (cold, up) = if run % 2 == 0 {
            let cold = cold();
            (cold, up())
        } else {
            let up = up();
            (cold(), up)
        };
        figures[0].push(cold);
        figures[1].push(up);
        figures[2].push(timed(vec![render(&dir, file, port, "down", Some(&uploaded), &[])]));
        figures[3].push(timed(vec![
            render(&dir, file, port, "shard1", Some(&sharded), &["--shard", "1/2"]),
            render(&dir, file, port, "shard2", Some(&sharded), &["--shard", "2/2"]),
        ]));
        figures[4].push(timed(vec![render(&dir, file, port, "final", Some(&sharded), &[])]));
        // Each shard alone, as on a runner of its own, each into a remote of its own so
        // that neither finds the other's work.
        let alone = (1..=2).map(|k| {
            let bucket = server.bucket(&format!("alone{run}x{k}"));
            let shard = format!("{k}/2");
            timed(vec![render(&dir, file, port, "alone", Some(&bucket), &["--shard", &shard])])
        });
        figures[5].push(alone.fold(0.0, f64::max));
        // An album's run leaves gigabytes of caches and objects behind: none is read again.
        for name in ["cold", "up", "down", "shard1", "shard2", "final", "alone"] {
            for folder in [format!("cache-{name}"), format!("out-{name}")] {
                let _ = std::fs::remove_dir_all(dir.join(folder));
            }
        }
        server.empty();
    }
    // Each figure is set against the cold render of its own run, and the median taken of
    // those shares: the machine's speed drifts between runs more than within one.
    let share = |parts: &[usize]| {
        let per_run = (0..runs)
            .map(|run| parts.iter().map(|&k| figures[k][run]).sum::<f64>() / figures[0][run])
            .collect();
        format!("{:5.1}% of cold", median(per_run) * 100.0)
    };
    let [cold, up, down, shards, last, alone] = figures.clone().map(median);
    println!("cold render, no remote        {cold:8.3} s");
    println!("cold render, uploading        {up:8.3} s   {} (uploads waited for)", share(&[1]));
    println!("empty cache, warm remote      {down:8.3} s   {}", share(&[2]));
    println!("two shards side by side       {shards:8.3} s   {}", share(&[3]));
    println!("final assembly after shards   {last:8.3} s   {}", share(&[4]));
    println!("shards + assembly             {:8.3} s   {}", shards + last, share(&[3, 4]));
    println!("slowest shard alone           {alone:8.3} s   {}", share(&[5]));
    println!(
        "two runners + assembly        {:8.3} s   {} (slowest shard alone, then the assembly)",
        alone + last,
        share(&[5, 4])
    );
    println!(
        "(times: medians of the runs; shares: medians of each run's share of its cold render)"
    );
}
