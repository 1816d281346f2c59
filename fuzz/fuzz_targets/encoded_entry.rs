//! Bytes → a deliverable's stream or a miss: an encoded entry, found in the cache or
//! fetched from a remote, must be refused whole when damaged or hostile, never panic, and
//! never be kept or copied out unless it checks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mixdown::cache::Key;
use mixdown::cache::encoded::open_encoded;
use mixdown::cache::folder::CacheDir;
use mixdown::cache::store::Store;

fuzz_target!(|data: &[u8]| {
    let key = Key([7; 32]);
    let found = tempfile::tempdir().expect("a scratch folder");
    let cache = CacheDir::new(found.path());
    let hex = key.to_string();
    let shard = cache.entries().join(&hex[0..2]).join(&hex[2..4]);
    std::fs::create_dir_all(&shard).expect("the shard is created");
    std::fs::write(shard.join(&hex), data).expect("the entry is written");
    let copied_out = open_encoded(&Store::local(&cache), &key)
        .and_then(|reader| reader.copy_to(&mut std::io::sink()))
        .is_ok();

    let fetched = tempfile::tempdir().expect("a scratch folder");
    let store = Store::local(&CacheDir::new(fetched.path()));
    let imported = store.import(&key, &mut &data[..], data.len() as u64).is_ok();
    if data.starts_with(b"mixdown\0") {
        // An audio entry's magic: the other fuzz target's case.
        return;
    }
    // An encoded entry is kept from elsewhere exactly when it reads back whole here.
    assert_eq!(imported, copied_out, "import and read disagree");
    if imported {
        let reader = open_encoded(&store, &key).expect("a kept entry opens");
        reader.copy_to(&mut std::io::sink()).expect("a kept entry reads back");
    }
});
