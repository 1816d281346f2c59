//! The remote cache on a loopback S3-compatible server (`s3s-fs` when installed, as
//! `cargo install s3s-fs --locked --features binary` does (`s3s-fs@0.14.1` on Rust 1.95),
//! otherwise moto's, as the tests start it):
//! a cold render uploading its entries against one without a remote, the same render
//! uploading to an endpoint that keeps nothing (the render's own cost, apart from the
//! server's work on the same cores), a render with an empty local cache and a warm remote,
//! two shards run side by side plus the final assembly, and each shard alone, as on a
//! runner of its own. Each figure is set against the cold local render of the same run,
//! and the median of those shares printed. Prints figures; asserts nothing; without either
//! server it says why and stops.
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
#[path = "remote/sink.rs"]
mod sink;
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

/// One render of the benchmark: its command, and the folders it leaves.
struct Render {
    command: Command,
    folders: [PathBuf; 2],
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
) -> Render {
    let (cache, out) = (format!("cache-{name}"), format!("out-{name}"));
    let folders = [dir.join(&cache), dir.join(&out)];
    for folder in &folders {
        let _ = std::fs::remove_dir_all(folder);
    }
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
    Render { command, folders }
}

/// Runs the renders side by side; returns the wall seconds until the last ends. Their
/// folders are removed once they end, outside the timing, so that every render starts from
/// the same state: the one before it gone, its memory free again. A render that started
/// beside the last one's caches would meet less free memory than one that started after
/// they were removed, and on a virtual machine that hands free memory back to its host,
/// memory taken anew costs more to fill than memory just freed.
fn timed(renders: Vec<Render>) -> f64 {
    let started = Instant::now();
    let children: Vec<(Child, [PathBuf; 2])> = renders
        .into_iter()
        .map(|mut r| (r.command.spawn().expect("run mixdown"), r.folders))
        .collect();
    let mut leftovers = Vec::new();
    for (child, folders) in children {
        let out = child.wait_with_output().expect("mixdown ends");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        leftovers.extend(folders);
    }
    let seconds = started.elapsed().as_secs_f64();
    for folder in leftovers {
        let _ = std::fs::remove_dir_all(folder);
    }
    seconds
}

/// The CPU time a process and all its threads have had so far, from Linux's `/proc` (in
/// its clock ticks, a hundredth of a second); `None` elsewhere.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the name in parentheses: state is the 3rd, utime and stime the 14th
    // and 15th of the line.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    Some((ticks(11)? + ticks(12)?) / 100.0)
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
    let sink = sink::start().expect("an endpoint that keeps nothing");
    println!("session: {what}, {} S3 on loopback, {runs} runs (median)", server.name);
    // An untimed render first, so that the first timed one, like every later one, finds the
    // sources read in and the memory of a render just freed.
    timed(vec![render(&dir, file, port, "warm-up", None, &[])]);
    let mut figures: [Vec<f64>; 7] = Default::default();
    let mut server_cpu = Vec::new();
    for run in 0..runs {
        let uploaded = server.bucket(&format!("up{run}"));
        let sharded = server.bucket(&format!("shards{run}"));
        // The cold render, the uploading one and the one uploading to the sink take turns
        // going first, so that none always meets the disk another left busy.
        for turn in 0..3 {
            let figure = [0, 1, 6][(run + turn) % 3];
            let seconds = match figure {
                0 => timed(vec![render(&dir, file, port, "cold", None, &[])]),
                1 => {
                    let before = cpu_seconds(server.child.id());
                    let up = render(&dir, file, port, "up", Some(&uploaded), &[]);
                    let seconds = timed(vec![up]);
                    if let (Some(before), Some(after)) = (before, cpu_seconds(server.child.id())) {
                        server_cpu.push(after - before);
                    }
                    seconds
                }
                _ => timed(vec![render(&dir, file, sink, "sink", Some("s3://sink/bench"), &[])]),
            };
            figures[figure].push(seconds);
        }
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
        // An album's run leaves gigabytes of objects behind: none is read again.
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
    let [cold, up, down, shards, last, alone, to_sink] = figures.clone().map(median);
    println!("cold render, no remote        {cold:8.3} s");
    println!("cold render, uploading        {up:8.3} s   {} (uploads waited for)", share(&[1]));
    if !server_cpu.is_empty() {
        let cpu = median(server_cpu);
        println!(
            "  the server's CPU meanwhile  {cpu:8.3} s   (storing what was uploaded, on the same cores)"
        );
    }
    println!(
        "cold render, uploading to sink{to_sink:8.3} s   {} (to an endpoint that keeps nothing: the render's own cost)",
        share(&[6])
    );
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
