//! What each node last rendered under: its key and the ingredients of that key, kept in
//! the cache's `nodes/` folder by node id. `explain` compares against it to say which
//! ingredient an edit changed. It does not need the node's entry, so it also works for
//! the output file, for a master that keeps no entry, and after `cache gc`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cache::Key;
use crate::cache::keys::KeyMaterial;

/// A node's last render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatestRender {
    /// The key it rendered under, in hex.
    pub key: String,
    /// What that key hashed.
    pub material: serde_json::Value,
}

impl LatestRender {
    fn path(cache_root: &Path, id: &str) -> PathBuf {
        cache_root.join("nodes").join(blake3::hash(id.as_bytes()).to_hex().as_str())
    }

    /// The last render of node `id` in this cache, if one is recorded and readable.
    #[must_use]
    pub fn read(cache_root: &Path, id: &str) -> Option<Self> {
        let text = std::fs::read(Self::path(cache_root, id)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Records that node `id` rendered under `key`. Best effort: losing this record only
    /// makes `explain` less specific.
    pub fn record(cache_root: &Path, id: &str, key: Key, material: &KeyMaterial) {
        let path = Self::path(cache_root, id);
        let Some(dir) = path.parent() else { return };
        let Ok(material) = serde_json::to_value(material) else { return };
        let Ok(bytes) = serde_json::to_vec(&Self { key: key.to_string(), material }) else {
            return;
        };
        let temp = path.with_extension(format!("tmp{}", std::process::id()));
        let _ = std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&temp, bytes))
            .and_then(|()| std::fs::rename(&temp, &path));
    }
}
