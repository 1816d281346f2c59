//! The remote cache's objects, through Apache `OpenDAL`: the only module that names it,
//! reqwest, rustls or tokio. It stores bytes under keys and knows nothing of their format;
//! [`super::Remote`] decides what to ask, and the store checks what comes back.
//!
//! Every request is bounded by a timeout (the connection, each operation and each chunk
//! read or written; an object sent whole, once for each chunk it holds), so a remote that
//! stalls costs at most that much before the render goes on without it. Credentials are
//! read by each service from its own standard environment variables and never pass
//! through here.

use std::fmt;
use std::future::IntoFuture;
use std::io::{self, Read};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opendal::layers::TimeoutLayer;
use opendal::services::{Azblob, Gcs, Ghac, S3};
use opendal::{ErrorKind, HttpTransporter, OperationContext, Operator};
use opendal_http_transport_reqwest::ReqwestTransport;

use super::address::{Address, Service};
use crate::cache::Key;

/// Bytes read or written per request: large enough that latency is paid rarely, small
/// enough that uploads running side by side hold little memory (S3 takes parts of at
/// least 5 MiB).
const CHUNK_BYTES: usize = 5 * 1024 * 1024;

/// Requests to look objects up that may be in flight at once.
const LOOKUPS_IN_FLIGHT: usize = 16;

/// Ranges of one object read at once: one request at a time leaves the link idle while
/// each reply is awaited, and a store serves several ranges of an object faster than one.
const CHUNKS_IN_FLIGHT: usize = 8;

/// Parts of one object uploaded at once: fewer than reads, because uploads run beside the
/// render and each part is held in memory until it is sent.
const PARTS_IN_FLIGHT: usize = 2;

/// Objects up to this size go up in one request rather than in parts: a store joins the
/// parts of a multipart upload by copying them once more, as much work again as receiving
/// them, and AWS advises multipart uploads only from about 100 MB. Such an object is held
/// in memory while it is sent, so only one goes up this way at a time.
const WHOLE_OBJECT_BYTES: u64 = 100_000_000;

/// Objects named by key, somewhere else.
pub trait ObjectStore: Send + Sync + fmt::Debug {
    /// Where, in words for messages (never with credentials).
    fn location(&self) -> String;

    /// Which of `keys` have an object, in their order.
    ///
    /// # Errors
    /// When the store cannot be asked.
    fn exist(&self, keys: &[Key]) -> io::Result<Vec<bool>>;

    /// Opens the object named `key` to stream it; `Ok(None)` when there is none.
    ///
    /// # Errors
    /// When the store cannot be asked.
    fn read(&self, key: &Key) -> io::Result<Option<(Box<dyn Read + Send>, u64)>>;

    /// Stores `size` bytes from `from` as the object named `key`. An object appears whole
    /// or not at all.
    ///
    /// # Errors
    /// When reading `from` or the store fails.
    fn write(&self, key: &Key, from: &mut dyn Read, size: u64) -> io::Result<()>;
}

/// An [`ObjectStore`] on a service that `OpenDAL` reaches.
pub struct OpenDal {
    /// Every request bounded by the timeout.
    operator: Operator,
    /// The same store without that bound, for an object sent in one request, which is given
    /// as long as its parts would have had ([`OpenDal::write_whole`]).
    unbounded: Operator,
    timeout: Duration,
    /// Held while an object is sent whole, from memory.
    sending_whole: Mutex<()>,
    runtime: Arc<tokio::runtime::Runtime>,
    location: String,
}

impl fmt::Debug for OpenDal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenDal").field("location", &self.location).finish_non_exhaustive()
    }
}

impl OpenDal {
    /// Connects (lazily: nothing is sent until the first request) to the store at
    /// `address`, each request bounded by `timeout`.
    ///
    /// # Errors
    /// When the service's configuration is incomplete (no Azure account, no GitHub
    /// Actions runtime), or the runtime or HTTP client cannot start.
    pub fn connect(address: &Address, timeout: Duration) -> io::Result<Self> {
        Self::connect_with(address, timeout, &|name| std::env::var(name).ok())
    }

    /// [`OpenDal::connect`], with the environment variables this module reads (the
    /// endpoint, the region, keys) taken from `env`.
    ///
    /// # Errors
    /// As [`OpenDal::connect`].
    pub fn connect_with(
        address: &Address,
        timeout: Duration,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> io::Result<Self> {
        // Every HTTP client here uses rustls with ring; the first provider installed wins.
        #[allow(deprecated)]
        // ring lacks post-quantum key exchange; aws-lc-rs needs cmake and minutes of build.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .connect_timeout(timeout)
            .read_timeout(timeout)
            .build()
            .map_err(io::Error::other)?;
        let transport = HttpTransporter::new(ReqwestTransport::new(client.clone()));
        HttpTransporter::install_default(ReqwestTransport::new(client));
        let unbounded = build(address, env)
            .map_err(|e| io::Error::other(format!("{address}: {}", e.message())))?
            .with_context(OperationContext::new().with_http_transport(transport));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("mixdown-remote")
            .enable_all()
            .build()?;
        Ok(Self::new(unbounded, timeout, runtime, address.to_string()))
    }

    fn new(
        unbounded: Operator,
        timeout: Duration,
        runtime: tokio::runtime::Runtime,
        location: String,
    ) -> Self {
        let operator = unbounded
            .clone()
            .layer(TimeoutLayer::new().with_timeout(timeout).with_io_timeout(timeout));
        Self {
            operator,
            unbounded,
            timeout,
            sending_whole: Mutex::new(()),
            runtime: Arc::new(runtime),
            location,
        }
    }

    /// An in-memory store, for tests of what sits above this one.
    ///
    /// # Errors
    /// When the runtime cannot start.
    pub fn memory() -> io::Result<Self> {
        let operator =
            Operator::new(opendal::services::Memory::default()).map_err(|e| to_io(&e))?;
        // A worker of its own, as objects are read ahead while their readers wait.
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
        Ok(Self::new(operator, Duration::from_secs(30), runtime, "memory".to_owned()))
    }

    /// Sends the `size` bytes of `from` in one request, given the time its parts would have
    /// had: the timeout once for each part.
    fn write_whole(&self, name: &str, from: &mut dyn Read, size: u64) -> io::Result<()> {
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        from.take(size).read_to_end(&mut bytes)?;
        if (bytes.len() as u64) < size {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let parts = u32::try_from(size.div_ceil(CHUNK_BYTES as u64)).unwrap_or(u32::MAX).max(1);
        let allowed = self.timeout.saturating_mul(parts);
        let sent = self.unbounded.write(name, bytes);
        match self.runtime.block_on(async { tokio::time::timeout(allowed, sent).await }) {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(to_io(&e)),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("sending {size} bytes took longer than {allowed:?}"),
            )),
        }
    }

    /// Sends the `size` bytes of `from` in parts, a few at a time, each request bounded by
    /// the timeout.
    fn write_in_parts(&self, name: &str, from: &mut dyn Read, size: u64) -> io::Result<()> {
        let future = self
            .operator
            .writer_with(name)
            .chunk(CHUNK_BYTES)
            .concurrent(PARTS_IN_FLIGHT)
            .into_future();
        let mut writer = self.runtime.block_on(future).map_err(|e| to_io(&e))?;
        let mut left = size;
        let outcome = (|| {
            while left > 0 {
                let mut chunk =
                    vec![0; CHUNK_BYTES.min(usize::try_from(left).unwrap_or(usize::MAX))];
                from.read_exact(&mut chunk)?;
                left -= chunk.len() as u64;
                self.runtime.block_on(writer.write(chunk)).map_err(|e| to_io(&e))?;
            }
            self.runtime.block_on(writer.close()).map_err(|e| to_io(&e)).map(drop)
        })();
        if outcome.is_err() {
            // Nothing appears under the name; a multipart upload left behind is removed.
            let _ = self.runtime.block_on(writer.abort());
        }
        outcome
    }
}

/// The operator for `address`, before its transport and layers. `env` reads the
/// environment variables this function needs; the services' credential chains read theirs
/// themselves.
fn build(address: &Address, env: &dyn Fn(&str) -> Option<String>) -> opendal::Result<Operator> {
    let root = address.root.as_str();
    let first_set =
        |names: &[&str]| names.iter().find_map(|name| env(name).filter(|v| !v.is_empty()));
    let missing = |what: &str| opendal::Error::new(ErrorKind::ConfigInvalid, what.to_owned());
    match address.service {
        Service::S3 => {
            let mut builder = S3::default().bucket(&address.bucket).root(root);
            // S3-compatible stores take any region; AWS's own tools default to this one.
            match first_set(&["AWS_REGION", "AWS_DEFAULT_REGION"]) {
                Some(region) => builder = builder.region(&region),
                None => builder = builder.region("us-east-1"),
            }
            if let Some(endpoint) = first_set(&["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]) {
                builder = builder.endpoint(endpoint.trim_end_matches('/'));
            }
            if let (Some(id), Some(secret)) =
                (first_set(&["AWS_ACCESS_KEY_ID"]), first_set(&["AWS_SECRET_ACCESS_KEY"]))
            {
                builder = builder.access_key_id(&id).secret_access_key(&secret);
                if let Some(token) = first_set(&["AWS_SESSION_TOKEN"]) {
                    builder = builder.session_token(&token);
                }
            }
            Operator::new(builder)
        }
        Service::Gcs => Operator::new(Gcs::default().bucket(&address.bucket).root(root)),
        Service::Azblob => {
            let account = first_set(&["AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT"])
                .ok_or_else(|| missing("set AZURE_STORAGE_ACCOUNT_NAME to the storage account"))?;
            let mut builder = Azblob::default()
                .container(&address.bucket)
                .root(root)
                .account_name(&account)
                .endpoint(&format!("https://{account}.blob.core.windows.net"));
            if let Some(key) = first_set(&["AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_KEY"]) {
                builder = builder.account_key(&key);
            }
            if let Some(token) = first_set(&["AZURE_STORAGE_SAS_TOKEN"]) {
                builder = builder.sas_token(&token);
            }
            Operator::new(builder)
        }
        Service::Ghac => {
            let outside = "gha:// works inside a GitHub Actions job, which sets ACTIONS_RUNTIME_TOKEN \
                           and ACTIONS_RESULTS_URL (expose them with actions/github-script)";
            let url = first_set(&["ACTIONS_RESULTS_URL", "ACTIONS_CACHE_URL"])
                .ok_or_else(|| missing(outside))?;
            let token = first_set(&["ACTIONS_RUNTIME_TOKEN"]).ok_or_else(|| missing(outside))?;
            let mut builder = Ghac::default().root(root).endpoint(&url).runtime_token(&token);
            if !address.bucket.is_empty() {
                builder = builder.version(&address.bucket);
            }
            Operator::new(builder)
        }
    }
}

/// An object's name in the store: the key in hex, under the address's prefix.
fn object_name(key: &Key) -> String {
    key.to_string()
}

fn to_io(e: &opendal::Error) -> io::Error {
    let kind = match e.kind() {
        ErrorKind::NotFound => io::ErrorKind::NotFound,
        ErrorKind::PermissionDenied => io::ErrorKind::PermissionDenied,
        _ => io::ErrorKind::Other,
    };
    // The kind and the service's own words; never the request, which may carry a signature.
    // An answer without a body (to a HEAD request, say) has no words.
    let words = match e.message().trim() {
        "" => {
            "the service gave no reason; check the address, the credentials, and that the \
               bucket exists"
        }
        words => words,
    };
    io::Error::new(kind, format!("{}: {words}", e.kind()))
}

impl ObjectStore for OpenDal {
    fn location(&self) -> String {
        self.location.clone()
    }

    fn exist(&self, keys: &[Key]) -> io::Result<Vec<bool>> {
        let mut found = Vec::with_capacity(keys.len());
        for batch in keys.chunks(LOOKUPS_IN_FLIGHT) {
            let asked: Vec<_> = batch
                .iter()
                .map(|key| {
                    let operator = self.operator.clone();
                    let name = object_name(key);
                    self.runtime.spawn(async move { operator.stat(&name).await })
                })
                .collect();
            for answer in asked {
                match self.runtime.block_on(answer).map_err(io::Error::other)? {
                    Ok(_) => found.push(true),
                    Err(e) if e.kind() == ErrorKind::NotFound => found.push(false),
                    Err(e) => return Err(to_io(&e)),
                }
            }
        }
        Ok(found)
    }

    fn read(&self, key: &Key) -> io::Result<Option<(Box<dyn Read + Send>, u64)>> {
        let name = object_name(key);
        let size = match self.runtime.block_on(self.operator.stat(&name)) {
            Ok(meta) => meta.content_length(),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(to_io(&e)),
        };
        let reader = self
            .runtime
            .block_on(
                self.operator
                    .reader_with(&name)
                    .chunk(CHUNK_BYTES)
                    .concurrent(CHUNKS_IN_FLIGHT)
                    .into_future(),
            )
            .map_err(|e| to_io(&e))?;
        let stream = ReadAhead::start(reader, &self.runtime, size);
        Ok(Some((Box::new(stream), size)))
    }

    fn write(&self, key: &Key, from: &mut dyn Read, size: u64) -> io::Result<()> {
        let name = object_name(key);
        if size <= WHOLE_OBJECT_BYTES
            && let Ok(_sending) = self.sending_whole.try_lock()
        {
            return self.write_whole(&name, from, size);
        }
        self.write_in_parts(&name, from, size)
    }
}

/// An object read ahead of its reader: a task on the runtime streams its ranges in order,
/// [`CHUNKS_IN_FLIGHT`] requests at a time, and hands each over as it arrives, so the
/// download goes on while the reader stores and checks what came before. At most
/// [`CHUNKS_READ_AHEAD`] chunks wait for the reader.
struct ReadAhead {
    chunks: tokio::sync::mpsc::Receiver<io::Result<opendal::Buffer>>,
    /// What is left of the chunk taken last.
    chunk: opendal::Buffer,
}

/// Chunks that may wait for the reader, beside those in flight.
const CHUNKS_READ_AHEAD: usize = 2;

impl ReadAhead {
    fn start(reader: opendal::Reader, runtime: &tokio::runtime::Runtime, size: u64) -> Self {
        let (sender, chunks) = tokio::sync::mpsc::channel(CHUNKS_READ_AHEAD);
        runtime.spawn(async move {
            use futures_util::StreamExt as _;
            let mut stream = match reader.into_stream(0..size).await {
                Ok(stream) => stream,
                Err(e) => {
                    let _ = sender.send(Err(to_io(&e))).await;
                    return;
                }
            };
            while let Some(chunk) = stream.next().await {
                let failed = chunk.is_err();
                // A reader that stopped early has dropped its end: stop fetching.
                if sender.send(chunk.map_err(|e| to_io(&e))).await.is_err() || failed {
                    return;
                }
            }
        });
        Self { chunks, chunk: opendal::Buffer::new() }
    }
}

impl Read for ReadAhead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.chunks.blocking_recv() {
                Some(chunk) => self.chunk = chunk?,
                // The object is read; if it was shorter than it said, the reader above sees
                // it end early.
                None => return Ok(0),
            }
        }
        self.chunk.read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads_back(store: &OpenDal, key: &Key, bytes: &[u8]) {
        let (mut reader, size) = store.read(key).unwrap().unwrap();
        assert_eq!(size, bytes.len() as u64);
        let mut back = Vec::new();
        reader.read_to_end(&mut back).unwrap();
        assert!(back == bytes, "the object read back differs from what was written");
    }

    #[test]
    fn an_object_written_whole_or_in_parts_reads_back_whole_and_is_found() {
        let store = OpenDal::memory().unwrap();
        let (whole, in_parts, absent) = (Key([1; 32]), Key([2; 32]), Key([9; 32]));
        let bytes: Vec<u8> = (0..2 * CHUNK_BYTES + 1000).map(|i| (i * 7) as u8).collect();
        store.write(&whole, &mut bytes.as_slice(), bytes.len() as u64).unwrap();
        {
            // Another object being sent whole sends this one in parts.
            let _sending = store.sending_whole.lock().unwrap();
            store.write(&in_parts, &mut bytes.as_slice(), bytes.len() as u64).unwrap();
        }
        assert_eq!(store.exist(&[whole, in_parts, absent]).unwrap(), [true, true, false]);
        reads_back(&store, &whole, &bytes);
        reads_back(&store, &in_parts, &bytes);
        assert!(store.read(&absent).unwrap().is_none());
    }

    #[test]
    fn a_source_that_ends_early_stores_nothing_whole_or_in_parts() {
        let store = OpenDal::memory().unwrap();
        let e = store.write(&Key([3; 32]), &mut [0u8; 10].as_slice(), 20).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        let _sending = store.sending_whole.lock().unwrap();
        let short = vec![0u8; CHUNK_BYTES + 10];
        let e = store.write(&Key([4; 32]), &mut short.as_slice(), 3 * CHUNK_BYTES as u64);
        assert_eq!(e.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(store.exist(&[Key([3; 32]), Key([4; 32])]).unwrap(), [false, false]);
    }

    #[test]
    fn an_object_sent_whole_to_a_store_that_never_answers_is_given_up_on_within_its_time() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        // Takes every connection and never answers.
        std::thread::spawn(move || {
            let held: Vec<_> = listener.incoming().collect();
            drop(held);
        });
        let env = |name: &str| match name {
            "AWS_ENDPOINT_URL" => Some(endpoint.clone()),
            "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" => Some("test".to_owned()),
            _ => None,
        };
        let address = Address::parse("s3://stalls/ci").unwrap();
        let store = OpenDal::connect_with(&address, Duration::from_millis(300), &env).unwrap();
        let bytes = vec![7u8; CHUNK_BYTES + 1];
        let started = std::time::Instant::now();
        let sent = store.write(&Key([5; 32]), &mut bytes.as_slice(), bytes.len() as u64);
        let took = started.elapsed();
        assert!(sent.is_err(), "a store that never answers took the object");
        // Two parts' worth of time, and a margin for a loaded machine.
        assert!(took < Duration::from_secs(5), "gave up after {took:?}");
    }

    fn environment(
        pairs: &'static [(&'static str, &'static str)],
    ) -> impl Fn(&str) -> Option<String> {
        move |name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
    }

    fn built(text: &str, pairs: &'static [(&'static str, &'static str)]) -> Result<String, String> {
        let address = Address::parse(text).unwrap();
        build(&address, &environment(pairs))
            .map(|operator| operator.info().scheme().to_string())
            .map_err(|e| e.message().to_owned())
    }

    #[test]
    fn each_service_builds_from_its_address_and_environment_without_a_request() {
        assert_eq!(built("s3://renders/ci", &[]).as_deref(), Ok("s3"));
        assert_eq!(built("s3://renders", &[("AWS_REGION", "eu-west-1")]).as_deref(), Ok("s3"));
        assert_eq!(built("gs://renders/ci", &[]).as_deref(), Ok("gcs"));
        let azure =
            &[("AZURE_STORAGE_ACCOUNT_NAME", "label"), ("AZURE_STORAGE_ACCOUNT_KEY", "a2V5")];
        assert_eq!(built("azblob://renders/ci", azure).as_deref(), Ok("azblob"));
        let actions =
            &[("ACTIONS_RESULTS_URL", "http://127.0.0.1:9/"), ("ACTIONS_RUNTIME_TOKEN", "t")];
        assert_eq!(built("gha://mixdown", actions).as_deref(), Ok("ghac"));
        let address = Address::parse("s3://renders/ci").unwrap();
        let store = OpenDal::connect(&address, Duration::from_secs(5)).unwrap();
        assert_eq!(store.location(), "s3://renders/ci");
    }

    #[test]
    fn an_error_without_words_says_what_to_check() {
        let e = to_io(&opendal::Error::new(ErrorKind::Unexpected, ""));
        assert!(e.to_string().contains("check the address, the credentials"), "{e}");
        let e = to_io(&opendal::Error::new(ErrorKind::Unexpected, "SlowDown"));
        assert_eq!(e.to_string(), "Unexpected: SlowDown");
    }

    #[test]
    fn a_service_missing_its_environment_says_which_variable_to_set() {
        let e = built("azblob://renders", &[]).unwrap_err();
        assert!(e.contains("AZURE_STORAGE_ACCOUNT_NAME"), "{e}");
        let e = built("gha://", &[("ACTIONS_RUNTIME_TOKEN", "t")]).unwrap_err();
        assert!(e.contains("GitHub Actions") && e.contains("ACTIONS_RESULTS_URL"), "{e}");
    }
}
