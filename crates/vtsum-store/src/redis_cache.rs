//! The Redis store's cache: entries as reports read them (`c:<id>`), documents compressed
//! apart (`d:<id>`), aliases (`a:<hash>`), each batch one Lua script (`redis_scripts`).

use crate::packed::{pack, unpack};
use crate::redis::RedisStore;
use crate::redis_scripts as lua;
use crate::{
    encode, entry_document, entry_hashes, entry_kind, slim_entry, stored_hash, with_document,
};
use vtsum_core::error::Result;
use vtsum_core::hash::Hash;
use vtsum_core::report::{CacheEntry, Document};
use vtsum_core::stored::decode_entry;

impl RedisStore {
    pub(crate) fn get_many(&self, hashes: &[Hash]) -> Result<Vec<Option<CacheEntry>>> {
        let mut out = Vec::with_capacity(hashes.len());
        // A few hundred hashes a script: one round trip each, short enough not to hold up
        // the server's other clients.
        for chunk in hashes.chunks(256) {
            let args: Vec<&str> = chunk.iter().map(Hash::as_str).collect();
            let texts: Vec<Option<String>> = self.script(lua::CACHE_GET_MANY, &args)?;
            for text in texts {
                // Entries written before documents were kept still hold their engines.
                out.push(
                    text.as_deref()
                        .map(decode_entry)
                        .transpose()?
                        .map(|e| slim_entry(&e)),
                );
            }
        }
        Ok(out)
    }

    pub(crate) fn document(&self, hash: &Hash) -> Result<Option<Document>> {
        let found: Option<(Vec<u8>, String)> =
            self.script(lua::CACHE_DOCUMENT, &[hash.as_str()])?;
        let Some((packed, entry)) = found else {
            return Ok(None);
        };
        if !packed.is_empty() {
            return unpack(&packed).map(Some);
        }
        if entry.is_empty() {
            return Ok(None);
        }
        Ok(entry_document(&decode_entry(&entry)?))
    }

    pub(crate) fn put_many(&self, entries: &[CacheEntry]) -> Result<()> {
        for chunk in entries.chunks(100) {
            let mut args: Vec<Vec<u8>> = Vec::new();
            for entry in chunk {
                let (primary, all) = entry_hashes(entry);
                let packed = entry_document(entry).map(|d| pack(&d)).unwrap_or_default();
                args.push(primary.into_bytes());
                args.push(entry_kind(entry).as_bytes().to_vec());
                args.push(encode(&slim_entry(entry)).into_bytes());
                args.push(packed);
                args.push(all.len().to_string().into_bytes());
                args.extend(all.into_iter().map(String::into_bytes));
            }
            self.script::<i64>(lua::CACHE_PUT_MANY, &args)?;
        }
        Ok(())
    }

    pub(crate) fn export(&self, each: &mut dyn FnMut(CacheEntry) -> Result<()>) -> Result<()> {
        let (found, unknown) = (self.key("c:found"), self.key("c:unknown"));
        let mut ids: Vec<String> =
            self.run(|c| redis::cmd("SUNION").arg(&found).arg(&unknown).query(c))?;
        ids.sort();
        for chunk in ids.chunks(500) {
            let keys: Vec<String> = chunk
                .iter()
                .map(|id| self.key(&format!("c:{id}")))
                .collect();
            let texts: Vec<Option<String>> =
                self.run(|c| redis::cmd("MGET").arg(&keys).query(c))?;
            for (id, text) in chunk.iter().zip(texts) {
                if let Some(text) = text {
                    let entry = decode_entry(&text)?;
                    let document = self.document(&stored_hash(id)?)?;
                    each(with_document(entry, document))?;
                }
            }
        }
        Ok(())
    }
}
