//! The remote cache's objects, through Apache `OpenDAL`: the only module that names it,
//! reqwest, rustls or tokio. It stores bytes under keys and knows nothing of their format;
//! [`super::Remote`] decides what to ask, and the store checks what comes back.
//!
//! An object larger than one piece ([`PIECE_BYTES`]) is stored as pieces named after it
//! (`<name>.0`, `<name>.1`, …), sent a few at a time, and an index under its own name,
//! written once every piece has arrived: the object appears whole or not at all. Pieces
//! rather than a multipart upload, because a store joins a multipart upload's parts by
//! copying them once more, as much work again as receiving them (`s3s-fs` and `MinIO` do,
//! and S3 takes parts of at least 5 MiB), while pieces are separate objects that the store
//! receives side by side. An index begins with [`INDEX_MAGIC`], which no entry or record
//! begins with. A piece that is missing or short ends the object early, which the store
//! above reads as damage: the entry is rendered again and uploaded over it. A piece is read
//! no further than its length, so a damaged store cannot make a reader hold more than the
//! pieces in flight.
//!
//! Every request is bounded by a timeout (the connection, each operation and each chunk
//! read or written, each piece), so a remote that stalls costs at most that much before the
//! render goes on without it. Credentials are read by each service from its own standard
//! environment variables and never pass through here.

use std::collections::VecDeque;
use std::fmt;
use std::future::IntoFuture;
use std::io::{self, Read};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use opendal::layers::TimeoutLayer;
use opendal::services::{Azblob, Gcs, Ghac, S3};
use opendal::{ErrorKind, HttpTransporter, OperationContext, Operator};
use opendal_http_transport_reqwest::ReqwestTransport;

use super::address::{Address, Service};
use super::piece_buffers::PieceBuffers;
use crate::cache::Key;

/// Bytes read per ranged request of an object stored whole.
const CHUNK_BYTES: usize = 5 * 1024 * 1024;

/// Bytes of one piece: large enough that latency is paid rarely, small enough that uploads
/// running side by side hold little memory and a piece is sent well within the timeout.
const PIECE_BYTES: usize = 4 * 1024 * 1024;

/// Requests to look objects up that may be in flight at once.
const LOOKUPS_IN_FLIGHT: usize = 16;

/// Ranges of one object read at once: one request at a time leaves the link idle while
/// each reply is awaited, and a store serves several ranges of an object faster than one.
const CHUNKS_IN_FLIGHT: usize = 8;

/// Pieces of one object read at once, for the same reason.
const PIECES_READ_IN_FLIGHT: usize = 8;

/// Pieces of one object sent at once: fewer than are read, because uploads run beside the
/// render and each piece is held in memory until it is sent. Two let a store on a machine of
/// two cores take them side by side.
pub(super) const PIECES_SENT_IN_FLIGHT: usize = 2;

/// How an index begins: a NUL, which neither an entry (`mixdown`) nor a record (`{`) begins
/// with. The object's length and its piece size follow, in decimal, then a newline.
const INDEX_MAGIC: &[u8] = b"\0mixdown pieces 1\n";

/// The longest an index can be: its magic and two 20-digit numbers.
const MAX_INDEX_BYTES: u64 = 64;

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
    runtime: Arc<tokio::runtime::Runtime>,
    location: String,
    buffers: PieceBuffers,
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
        let operator = build(address, env)
            .map_err(|e| io::Error::other(format!("{address}: {}", e.message())))?
            .with_context(OperationContext::new().with_http_transport(transport));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("mixdown-remote")
            .enable_all()
            .build()?;
        Ok(Self::new(operator, timeout, runtime, address.to_string()))
    }

    fn new(
        operator: Operator,
        timeout: Duration,
        runtime: tokio::runtime::Runtime,
        location: String,
    ) -> Self {
        let operator =
            operator.layer(TimeoutLayer::new().with_timeout(timeout).with_io_timeout(timeout));
        Self { operator, runtime: Arc::new(runtime), location, buffers: PieceBuffers::default() }
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

    /// Stores `bytes` as the object `name`, in one request.
    fn put(&self, name: &str, bytes: Vec<u8>) -> io::Result<()> {
        self.runtime.block_on(self.operator.write(name, bytes)).map(drop).map_err(|e| to_io(&e))
    }

    /// Sends the `size` bytes of `from` as pieces, [`PIECES_SENT_IN_FLIGHT`] at a time,
    /// each read while those before it are on their way, into the memory of a piece that
    /// has arrived.
    fn put_pieces(&self, name: &str, from: &mut dyn Read, size: u64) -> Result<(), Stopped> {
        let mut in_flight = VecDeque::new();
        for piece in 0..pieces_of(size) {
            let bytes = match read_into(from, piece_length(size, piece), self.buffers.take()) {
                Ok(bytes) => Bytes::from(bytes),
                Err(e) => {
                    // Those on their way land before they are removed.
                    for sending in in_flight {
                        let _ = self.arrived(sending);
                    }
                    return Err(Stopped::Source(e));
                }
            };
            if in_flight.len() == PIECES_SENT_IN_FLIGHT
                && let Some(sending) = in_flight.pop_front()
            {
                self.arrived(sending).map_err(Stopped::Store)?;
            }
            let operator = self.operator.clone();
            let piece = piece_name(name, piece);
            let body = bytes.clone();
            in_flight.push_back((
                bytes,
                self.runtime.spawn(async move { operator.write(&piece, body).await }),
            ));
        }
        in_flight.into_iter().try_for_each(|sending| self.arrived(sending)).map_err(Stopped::Store)
    }

    /// Waits for a piece to arrive, and keeps its memory for the next.
    fn arrived(&self, (bytes, sending): Sending) -> io::Result<()> {
        let arrived = match self.runtime.block_on(sending).map_err(io::Error::other)? {
            Ok(_) => Ok(()),
            Err(e) => Err(to_io(&e)),
        };
        self.buffers.give_back(bytes);
        arrived
    }

    /// The object `name` joined back from its pieces, [`PIECES_READ_IN_FLIGHT`] fetched at
    /// a time. A piece that is missing or short ends it there.
    fn read_pieces(&self, name: String, size: u64) -> ReadAhead {
        use futures_util::StreamExt as _;
        let operator = self.operator.clone();
        let pieces = (0..pieces_of(size)).map(move |piece| {
            let operator = operator.clone();
            let piece_name = piece_name(&name, piece);
            let expected = piece_length(size, piece);
            async move {
                // No more than the piece should hold: what follows is never read.
                match operator.read_with(&piece_name).range(0..expected).await {
                    Ok(bytes) if bytes.len() as u64 == expected => Some(Ok(bytes)),
                    Ok(_) => None,
                    Err(e)
                        if matches!(
                            e.kind(),
                            ErrorKind::NotFound | ErrorKind::RangeNotSatisfied
                        ) =>
                    {
                        None
                    }
                    Err(e) => Some(Err(to_io(&e))),
                }
            }
        });
        // Each piece a task of its own, so that those in flight go on arriving while the
        // reader is handed the one before.
        let stream = futures_util::stream::iter(pieces)
            .map(|piece| async move {
                tokio::spawn(piece).await.unwrap_or_else(|e| Some(Err(io::Error::other(e))))
            })
            .buffered(PIECES_READ_IN_FLIGHT)
            .take_while(|piece| std::future::ready(piece.is_some()))
            .filter_map(std::future::ready)
            .boxed();
        ReadAhead::start(async move { stream }, &self.runtime)
    }

    /// Removes what was sent of an object whose source failed before its index was written.
    /// What the store does not remove is never read without an index, and expires with the
    /// store's lifecycle rules.
    fn remove_pieces(&self, name: &str, size: u64) {
        for piece in 0..pieces_of(size) {
            let _ = self.runtime.block_on(self.operator.delete(&piece_name(name, piece)));
        }
    }
}

/// A piece on its way: its bytes, and the request sending them.
type Sending = (Bytes, tokio::task::JoinHandle<opendal::Result<opendal::Metadata>>);

/// Why an object's pieces stopped before all were sent.
enum Stopped {
    /// Reading what was to be sent failed.
    Source(io::Error),
    /// The store failed.
    Store(io::Error),
}

/// The object's bytes, `size` of them from `from`.
fn read_exactly(from: &mut dyn Read, size: u64) -> io::Result<Vec<u8>> {
    read_into(from, size, Vec::new())
}

/// `size` bytes from `from`, read into the empty `bytes`.
fn read_into(from: &mut dyn Read, size: u64, mut bytes: Vec<u8>) -> io::Result<Vec<u8>> {
    bytes.reserve_exact(usize::try_from(size).unwrap_or(0));
    from.take(size).read_to_end(&mut bytes)?;
    if (bytes.len() as u64) < size {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(bytes)
}

/// How many pieces an object of `size` bytes is stored as.
fn pieces_of(size: u64) -> u64 {
    size.div_ceil(PIECE_BYTES as u64)
}

/// The length of piece `piece` of an object of `size` bytes.
fn piece_length(size: u64, piece: u64) -> u64 {
    let piece_bytes = PIECE_BYTES as u64;
    piece_bytes.min(size - piece * piece_bytes)
}

fn piece_name(name: &str, piece: u64) -> String {
    format!("{name}.{piece}")
}

/// The index of an object of `size` bytes stored as pieces.
fn index(size: u64) -> Vec<u8> {
    let mut bytes = INDEX_MAGIC.to_vec();
    bytes.extend_from_slice(format!("{size} {PIECE_BYTES}\n").as_bytes());
    bytes
}

/// The length of the object an index stands for; `None` when `bytes` is not an index as
/// this build writes them (another piece size, say). Such an object reads as itself, and
/// fails the store's checks.
fn parse_index(bytes: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(bytes.strip_prefix(INDEX_MAGIC)?).ok()?;
    let (size, piece_bytes) = text.strip_suffix('\n')?.split_once(' ')?;
    (piece_bytes.parse() == Ok(PIECE_BYTES)).then(|| size.parse().ok()).flatten()
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
        if size <= MAX_INDEX_BYTES {
            let bytes = self.runtime.block_on(self.operator.read(&name)).map_err(|e| to_io(&e))?;
            let bytes = bytes.to_vec();
            if let Some(size) = parse_index(&bytes) {
                let pieces = self.read_pieces(name, size);
                return Ok(Some((Box::new(pieces), size)));
            }
            let size = bytes.len() as u64;
            return Ok(Some((Box::new(io::Cursor::new(bytes)), size)));
        }
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
        let operator_reads = async move {
            use futures_util::StreamExt as _;
            match reader.into_stream(0..size).await {
                Ok(stream) => stream.map(|chunk| chunk.map_err(|e| to_io(&e))).boxed(),
                Err(e) => futures_util::stream::once(async move { Err(to_io(&e)) }).boxed(),
            }
        };
        Ok(Some((Box::new(ReadAhead::start(operator_reads, &self.runtime)), size)))
    }

    fn write(&self, key: &Key, from: &mut dyn Read, size: u64) -> io::Result<()> {
        let name = object_name(key);
        if size <= PIECE_BYTES as u64 {
            let bytes = read_exactly(from, size)?;
            return self.put(&name, bytes);
        }
        match self.put_pieces(&name, from, size) {
            Ok(()) => self.put(&name, index(size)),
            Err(Stopped::Source(e)) => {
                self.remove_pieces(&name, size);
                Err(e)
            }
            // Asking a failing store to remove them would only wait out more timeouts.
            Err(Stopped::Store(e)) => Err(e),
        }
    }
}

/// An object read ahead of its reader: a task on the runtime streams its ranges or pieces in
/// order, several requests at a time, and hands each over as it arrives, so the
/// download goes on while the reader stores and checks what came before. At most
/// [`CHUNKS_READ_AHEAD`] chunks wait for the reader.
struct ReadAhead {
    chunks: tokio::sync::mpsc::Receiver<io::Result<opendal::Buffer>>,
    /// What is left of the chunk taken last.
    chunk: opendal::Buffer,
}

/// Chunks that may wait for the reader, beside those in flight: as many again, so that a
/// reader that pauses (to write what it has) does not hold the requests up.
const CHUNKS_READ_AHEAD: usize = 8;

/// The chunks of an object, in order.
type Chunks = futures_util::stream::BoxStream<'static, io::Result<opendal::Buffer>>;

impl ReadAhead {
    /// Streams the chunks `chunks` opens on `runtime`.
    fn start(
        chunks: impl Future<Output = Chunks> + Send + 'static,
        runtime: &tokio::runtime::Runtime,
    ) -> Self {
        let (sender, receiver) = tokio::sync::mpsc::channel(CHUNKS_READ_AHEAD);
        runtime.spawn(async move {
            use futures_util::StreamExt as _;
            let mut chunks = chunks.await;
            while let Some(chunk) = chunks.next().await {
                let failed = chunk.is_err();
                // A reader that stopped early has dropped its end: stop fetching.
                if sender.send(chunk).await.is_err() || failed {
                    return;
                }
            }
        });
        Self { chunks: receiver, chunk: opendal::Buffer::new() }
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

    /// Bytes that fill two pieces and part of a third.
    fn three_pieces() -> Vec<u8> {
        (0..2 * PIECE_BYTES + 1000).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn an_object_written_whole_or_in_pieces_reads_back_whole_and_is_found() {
        let store = OpenDal::memory().unwrap();
        let (small, large, tiny, absent) = (Key([1; 32]), Key([2; 32]), Key([3; 32]), Key([9; 32]));
        let (small_bytes, large_bytes) = (vec![5u8; 1000], three_pieces());
        store.write(&small, &mut small_bytes.as_slice(), 1000).unwrap();
        store.write(&large, &mut large_bytes.as_slice(), large_bytes.len() as u64).unwrap();
        store.write(&tiny, &mut &b"{}"[..], 2).unwrap();
        assert_eq!(store.exist(&[small, large, tiny, absent]).unwrap(), [true, true, true, false]);
        reads_back(&store, &small, &small_bytes);
        reads_back(&store, &large, &large_bytes);
        reads_back(&store, &tiny, b"{}");
        assert!(store.read(&absent).unwrap().is_none());
        let name = object_name(&large);
        let index = store.runtime.block_on(store.operator.read(&name)).unwrap().to_vec();
        assert_eq!(parse_index(&index), Some(large_bytes.len() as u64));
    }

    #[test]
    fn a_source_that_ends_early_stores_nothing_whole_or_in_pieces() {
        let store = OpenDal::memory().unwrap();
        let e = store.write(&Key([3; 32]), &mut [0u8; 10].as_slice(), 20).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        let short = vec![0u8; PIECE_BYTES + 10];
        let e = store.write(&Key([4; 32]), &mut short.as_slice(), 3 * PIECE_BYTES as u64);
        assert_eq!(e.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(store.exist(&[Key([3; 32]), Key([4; 32])]).unwrap(), [false, false]);
        let first_piece = piece_name(&object_name(&Key([4; 32])), 0);
        let left = store.runtime.block_on(store.operator.exists(&first_piece)).unwrap();
        assert!(!left, "the piece sent before the source ended was left behind");
    }

    /// What a reader gets of the object `key`, and the length the store gave for it.
    fn read_whole(store: &OpenDal, key: &Key) -> (Vec<u8>, u64) {
        let (mut reader, size) = store.read(key).unwrap().unwrap();
        let mut back = Vec::new();
        reader.read_to_end(&mut back).unwrap();
        (back, size)
    }

    #[test]
    fn a_missing_or_short_piece_ends_the_object_early_after_the_pieces_before_it() {
        let store = OpenDal::memory().unwrap();
        let key = Key([6; 32]);
        let bytes = three_pieces();
        store.write(&key, &mut bytes.as_slice(), bytes.len() as u64).unwrap();
        let second = piece_name(&object_name(&key), 1);
        let (back, size) = read_whole(&store, &key);
        assert_eq!((size, back == bytes), (bytes.len() as u64, true));
        store.runtime.block_on(store.operator.write(&second, vec![0u8; 100])).unwrap();
        let (back, size) = read_whole(&store, &key);
        assert_eq!(size, bytes.len() as u64);
        assert!(back == bytes[..PIECE_BYTES], "a short piece ends the object");
        store.runtime.block_on(store.operator.delete(&second)).unwrap();
        let (back, _) = read_whole(&store, &key);
        assert_eq!(back, bytes[..PIECE_BYTES], "a missing piece ends the object");
    }

    #[test]
    fn only_an_index_as_written_reads_as_one() {
        assert_eq!(parse_index(&index(20_000_000)), Some(20_000_000));
        let mut bad_size = index(20_000_000);
        bad_size[INDEX_MAGIC.len()] = b'x';
        let mut no_newline = index(20_000_000);
        no_newline.pop();
        let other_pieces = [INDEX_MAGIC, b"10000000 1\n"].concat();
        for not_an_index in [&bad_size, &no_newline, &other_pieces, &b"{\"key\":1}"[..].to_vec()] {
            assert_eq!(parse_index(not_an_index), None, "{not_an_index:?}");
        }
        assert!(index(u64::MAX).len() as u64 <= MAX_INDEX_BYTES);
    }

    #[test]
    fn an_object_sent_to_a_store_that_never_answers_is_given_up_on_within_its_time() {
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
        let store = OpenDal::connect_with(&address, Duration::from_secs(1), &env).unwrap();
        let bytes = vec![7u8; 2 * PIECE_BYTES + 1];
        let started = std::time::Instant::now();
        let sent = store.write(&Key([5; 32]), &mut bytes.as_slice(), bytes.len() as u64);
        let took = started.elapsed();
        assert!(sent.is_err(), "a store that never answers took the object");
        // One request's time, and a margin for a loaded machine; not one more for each
        // piece it would take to ask the store to remove them.
        assert!(took < Duration::from_millis(2500), "gave up after {took:?}");
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
