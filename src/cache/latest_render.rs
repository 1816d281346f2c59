//! What each node last rendered under: its key and the ingredients of that key, kept in
//! the cache folder by node id. `explain` compares against it to say which ingredient an
//! edit changed. It does not need the node's entry, so it also works for the output file,
//! for a master that keeps no entry, and after `cache gc`.

use std::io;

use serde::{Deserialize, Serialize};

use super::Key;
use super::folder::CacheDir;
use super::keys::KeyMaterial;

/// A node's last render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatestRender {
    /// The key it rendered under, in hex.
    pub key: String,
    /// What that key hashed.
    pub material: serde_json::Value,
}

impl LatestRender {
    /// The last render of node `id` in this cache, if one is recorded and readable.
    #[must_use]
    pub fn read(cache: &CacheDir, id: &str) -> Option<Self> {
        let text = std::fs::read(cache.node_record(id)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Records that node `id` rendered under `key`.
    ///
    /// # Errors
    /// When the record cannot be written; losing it only makes `explain` less specific.
    pub fn record(cache: &CacheDir, id: &str, key: Key, material: &KeyMaterial) -> io::Result<()> {
        let material = serde_json::to_value(material)?;
        let bytes = serde_json::to_vec(&Self { key: key.to_string(), material })?;
        cache.write(&cache.node_record(id), &bytes)
    }
}
