//! Bytes → verified samples or a miss: the cache entry reader must treat any damaged or
//! hostile entry file as corrupt or missing, never panic or serve it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mixdown::cache::Key;
use mixdown::cache::folder::CacheDir;
use mixdown::cache::store::Store;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("a scratch folder");
    let cache = CacheDir::new(dir.path());
    let key = Key([7; 32]);
    let hex = key.to_string();
    let shard = cache.entries().join(&hex[0..2]).join(&hex[2..4]);
    std::fs::create_dir_all(&shard).expect("the shard is created");
    std::fs::write(shard.join(&hex), data).expect("the entry is written");
    let store = Store::local(&cache);
    let Ok(mut reader) = store.open_entry(&key) else { return };
    let _ = reader.read_manifest();
    let (mut left, mut right) = (vec![0.0f32; 4096], vec![0.0f32; 4096]);
    while let Ok(n) = reader.read(&mut left, &mut right) {
        if n == 0 {
            break;
        }
    }
});
