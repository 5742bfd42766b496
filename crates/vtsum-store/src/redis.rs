//! The Redis store: everything the SQLite store holds, shared by every process that names
//! the same server — several CLIs, web servers and workers on several machines.
//!
//! Keys live under a prefix (`vtsum:` unless the URL says `?prefix=`): `c:<id>` a cached
//! answer as reports read it (id = sha256 of a found file, or the hash asked for when
//! unknown), `d:<id>` a found file's VirusTotal document, zstd-compressed (see `packed`;
//! absent for files cached before documents were kept, whose `c:<id>` still holds their
//! engines), `a:<hash>` → id for each of a file's hashes, sets `c:found`, `c:unknown` and
//! `a:all`, and `c:stats` the cache's counts (kept by the scripts that write the cache;
//! the cache's calls are in `redis_cache`);
//! `ledger:<day>` a hash of key id → requests; `j:<id>` a job's header hash, `j:<id>:h` its
//! hashes (a list, in input order), `j:<id>:r` its results (index → JSON), and `jobs` (a
//! sorted set by creation time). Every write that touches several keys is one Lua script,
//! so it is atomic for every client (the scripts are in `redis_scripts`). Calls take a
//! connection from a small pool (`redis_link`); a lost connection is re-opened once per
//! call, so a restarted server is picked up without restarting vtsum. Durability is the
//! server's: run it with `appendonly yes` (see the README).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use redis::{Connection, FromRedisValue};

use crate::redis_link::{hide_password, Link};
use crate::redis_queue::RedisQueue;
use crate::redis_quota;
use crate::redis_scripts as lua;
use crate::{decode, encode, slim_result, stored_target};
use vtsum_core::error::{Error, Result};
use vtsum_core::hash::Hash;
use vtsum_core::key::KeyId;
use vtsum_core::queue::{WorkQueue, PART_SIZE};
use vtsum_core::report::{CacheEntry, Document, ItemResult, ObjectEntry};
use vtsum_core::store::{
    CacheStats, JobId, JobInfo, JobItem, JobOrigin, JobSpec, JobState, QuotaRequest, SharedGrant,
    Store,
};
use vtsum_core::stored::decode_item;
use vtsum_core::target::{Kind, Target};

/// A Redis-backed store. Cheap to share behind an `Arc`.
pub struct RedisStore {
    link: Link,
    prefix: String,
}

/// How long a command may take before the store reports the server unreachable.
const TIMEOUT: Duration = Duration::from_secs(5);

impl RedisStore {
    /// Connects to `redis://[:password@]host:port/db[?prefix=P]`, or `rediss://…` for TLS
    /// (certificates checked against the system's and Mozilla's roots; a `#insecure`
    /// suffix skips the check, for test servers only).
    pub fn open(url: &str) -> Result<RedisStore> {
        let insecure = url.contains("#insecure");
        let url = url.replace("#insecure", "");
        let (base, prefix) = match url.split_once("?prefix=") {
            Some((base, prefix)) => (base.to_string(), prefix.to_string()),
            None => (url.clone(), "vtsum:".to_string()),
        };
        let base = if insecure {
            format!("{base}#insecure")
        } else {
            base
        };
        let base = base.as_str();
        let shown = hide_password(base);
        let client = redis::Client::open(base).map_err(|e| Error::StoreUrl {
            url: shown.clone(),
            why: e.to_string(),
        })?;
        let store = RedisStore {
            link: Link::new(client, shown, TIMEOUT),
            prefix,
        };
        // Fail now, with a clear message, rather than at the first lookup.
        store.run(|c| redis::cmd("PING").query::<String>(c))?;
        Ok(store)
    }

    /// The key prefix, e.g. `vtsum:`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub(crate) fn run<T>(&self, f: impl Fn(&mut Connection) -> redis::RedisResult<T>) -> Result<T> {
        self.link.run(f)
    }

    pub(crate) fn script<T: FromRedisValue>(
        &self,
        source: &str,
        args: &[impl redis::ToRedisArgs],
    ) -> Result<T> {
        self.link.script(source, &self.prefix, args)
    }

    pub(crate) fn key(&self, rest: &str) -> String {
        format!("{}{rest}", self.prefix)
    }
}

/// Whether a result counts as a cache hit and as an error, as the job's counters add them.
fn counted(result: &ItemResult) -> (u8, u8) {
    match result {
        ItemResult::Lookup { from_cache, .. } => (u8::from(*from_cache), 0),
        ItemResult::Error { .. } => (0, 1),
    }
}

fn job_from_fields(id: &JobId, fields: &BTreeMap<String, String>) -> Result<JobInfo> {
    let num = |name: &str| -> i64 { fields.get(name).and_then(|v| v.parse().ok()).unwrap_or(0) };
    let spec: JobSpec = decode(fields.get("spec").map_or("", String::as_str))?;
    Ok(JobInfo {
        id: id.clone(),
        spec,
        state: fields
            .get("state")
            .and_then(|s| JobState::parse(s))
            .unwrap_or(JobState::Failed),
        created_at: num("created_at"),
        updated_at: num("updated_at"),
        total: num("total") as u64,
        done: num("done") as u64,
        cache_hits: num("cache_hits") as u64,
        errors: num("errors") as u64,
        resumes_at: fields.get("resumes_at").and_then(|v| v.parse().ok()),
        error: fields.get("error").cloned(),
    })
}

impl Store for RedisStore {
    fn describe(&self) -> String {
        format!("{} (prefix {})", self.link.shown(), self.prefix)
    }

    fn watches(self: Arc<Self>) -> Option<Arc<dyn vtsum_core::watch::WatchStore>> {
        Some(self)
    }

    fn ping(&self) -> Result<()> {
        self.run(|c| redis::cmd("PING").query::<String>(c))
            .map(drop)
    }

    fn cache_get_many(&self, hashes: &[Hash]) -> Result<Vec<Option<CacheEntry>>> {
        self.get_many(hashes)
    }

    fn cache_document(&self, hash: &Hash) -> Result<Option<Document>> {
        self.document(hash)
    }

    fn cache_put_many(&self, entries: &[CacheEntry]) -> Result<()> {
        crate::check_files(entries)?;
        self.put_many(entries)
    }

    fn cache_stats(&self) -> Result<CacheStats> {
        let (found, unknown, bytes): (u64, u64, u64) =
            self.script(lua::CACHE_STATS, &[] as &[&str])?;
        Ok(CacheStats {
            found,
            unknown,
            bytes,
        })
    }

    fn cache_clear(&self) -> Result<u64> {
        self.script(lua::CACHE_CLEAR, &[] as &[&str])
    }

    fn cache_export(&self, each: &mut dyn FnMut(CacheEntry) -> Result<()>) -> Result<()> {
        self.export(each)
    }

    fn ledger_used(&self, key: &KeyId, day: &str) -> Result<u64> {
        let k = self.key(&format!("ledger:{day}"));
        let n: Option<u64> = self.run(|c| redis::cmd("HGET").arg(&k).arg(&key.0).query(c))?;
        Ok(n.unwrap_or(0))
    }

    fn ledger_add(&self, key: &KeyId, day: &str, n: u64) -> Result<u64> {
        let k = self.key(&format!("ledger:{day}"));
        self.run(|c| {
            let (used, _): (u64, i64) = redis::pipe()
                .atomic()
                .cmd("HINCRBY")
                .arg(&k)
                .arg(&key.0)
                .arg(n)
                // Old days are only of interest for a while.
                .cmd("EXPIRE")
                .arg(&k)
                .arg(40 * 86_400)
                .query(c)?;
            Ok(used)
        })
    }

    fn ledger_day(&self, day: &str) -> Result<BTreeMap<KeyId, u64>> {
        let k = self.key(&format!("ledger:{day}"));
        let all: BTreeMap<String, u64> = self.run(|c| redis::cmd("HGETALL").arg(&k).query(c))?;
        Ok(all.into_iter().map(|(id, n)| (KeyId(id), n)).collect())
    }

    fn job_create(&self, id: &JobId, spec: &JobSpec, hashes: &[Target], now: i64) -> Result<bool> {
        // Web jobs are run by the workers, so they go into the work queue.
        let part = match spec.origin {
            JobOrigin::Web => PART_SIZE,
            JobOrigin::Cli | JobOrigin::Lookup => 0,
        };
        let mut args = vec![
            id.0.clone(),
            encode(spec),
            now.to_string(),
            part.to_string(),
        ];
        args.extend(hashes.iter().map(Target::stored));
        Ok(self.script::<i64>(lua::JOB_CREATE, &args)? == 1)
    }

    fn job_get(&self, id: &JobId) -> Result<Option<JobInfo>> {
        let k = self.key(&format!("j:{}", id.0));
        let fields: BTreeMap<String, String> =
            self.run(|c| redis::cmd("HGETALL").arg(&k).query(c))?;
        if fields.is_empty() {
            return Ok(None);
        }
        job_from_fields(id, &fields).map(Some)
    }

    fn job_list(&self) -> Result<Vec<JobInfo>> {
        let k = self.key("jobs");
        let ids: Vec<String> =
            self.run(|c| redis::cmd("ZREVRANGE").arg(&k).arg(0).arg(-1).query(c))?;
        // Every header in one round trip, not one per job.
        let heads: Vec<BTreeMap<String, String>> = self.run(|c| {
            let mut pipe = redis::pipe();
            for id in &ids {
                pipe.cmd("HGETALL").arg(self.key(&format!("j:{id}")));
            }
            pipe.query(c)
        })?;
        let mut out = Vec::with_capacity(ids.len());
        for (id, fields) in ids.into_iter().zip(heads) {
            if !fields.is_empty() {
                out.push(job_from_fields(&JobId(id), &fields)?);
            }
        }
        Ok(out)
    }

    fn job_set_state(
        &self,
        id: &JobId,
        state: JobState,
        resumes_at: Option<i64>,
        error: Option<&str>,
        now: i64,
    ) -> Result<()> {
        let args = [
            id.0.clone(),
            state.as_str().to_string(),
            resumes_at.map(|t| t.to_string()).unwrap_or_default(),
            error.unwrap_or_default().to_string(),
            now.to_string(),
        ];
        self.script::<i64>(lua::JOB_SET_STATE, &args).map(|_| ())
    }

    fn job_pending(&self, id: &JobId) -> Result<Vec<JobItem>> {
        let head = self.key(&format!("j:{}", id.0));
        let (hashes, done): (Vec<String>, Vec<u64>) = self.run(|c| {
            redis::pipe()
                .cmd("LRANGE")
                .arg(format!("{head}:h"))
                .arg(0)
                .arg(-1)
                .cmd("HKEYS")
                .arg(format!("{head}:r"))
                .query(c)
        })?;
        let done: std::collections::HashSet<u64> = done.into_iter().collect();
        hashes
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !done.contains(&(*i as u64)))
            .map(|(i, h)| {
                Ok(JobItem {
                    index: i as u64,
                    target: stored_target(&h)?,
                    result: None,
                })
            })
            .collect()
    }

    fn job_pending_in(&self, id: &JobId, from: u64, to: u64) -> Result<Vec<JobItem>> {
        let mut items = self.job_items(id, from, to.saturating_sub(from))?;
        items.retain(|item| item.result.is_none());
        Ok(items)
    }

    fn job_record(&self, id: &JobId, index: u64, result: &ItemResult, now: i64) -> Result<()> {
        let (hit, err) = counted(result);
        let args = [
            id.0.clone(),
            index.to_string(),
            encode(&slim_result(result)),
            hit.to_string(),
            err.to_string(),
            now.to_string(),
        ];
        self.script::<i64>(lua::JOB_RECORD, &args).map(|_| ())
    }

    fn job_record_many(&self, id: &JobId, items: &[(u64, &ItemResult)], now: i64) -> Result<()> {
        // One script per few hundred results (a cache pass records thousands): one round
        // trip each instead of one per result, short enough not to hold up other clients.
        for chunk in items.chunks(256) {
            let mut args = vec![id.0.clone(), now.to_string()];
            for (index, result) in chunk {
                let (hit, err) = counted(result);
                args.push(index.to_string());
                args.push(encode(&slim_result(result)));
                args.push(hit.to_string());
                args.push(err.to_string());
            }
            self.script::<i64>(lua::JOB_RECORD_MANY, &args)?;
        }
        Ok(())
    }

    fn job_items(&self, id: &JobId, offset: u64, limit: u64) -> Result<Vec<JobItem>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let head = self.key(&format!("j:{}", id.0));
        let hashes: Vec<String> = self.run(|c| {
            redis::cmd("LRANGE")
                .arg(format!("{head}:h"))
                .arg(offset)
                .arg(offset + limit - 1)
                .query(c)
        })?;
        if hashes.is_empty() {
            return Ok(Vec::new());
        }
        let fields: Vec<u64> = (offset..offset + hashes.len() as u64).collect();
        let results: Vec<Option<String>> = self.run(|c| {
            redis::cmd("HMGET")
                .arg(format!("{head}:r"))
                .arg(&fields)
                .query(c)
        })?;
        hashes
            .into_iter()
            .zip(results)
            .zip(fields)
            .map(|((h, r), index)| {
                Ok(JobItem {
                    index,
                    target: stored_target(&h)?,
                    result: r.as_deref().map(decode_item).transpose()?,
                })
            })
            .collect()
    }

    fn shares_quota(&self) -> bool {
        true
    }

    fn quota_acquire(&self, req: &QuotaRequest<'_>) -> Result<SharedGrant> {
        let answer = self.script(redis_quota::ACQUIRE, &redis_quota::acquire_args(req))?;
        Ok(redis_quota::grant(answer))
    }

    fn quota_release(&self, req: &QuotaRequest<'_>) -> Result<()> {
        self.script::<i64>(redis_quota::RELEASE, &redis_quota::release_args(req))
            .map(|_| ())
    }

    fn object_get(&self, kind: Kind, value: &str) -> Result<Option<ObjectEntry>> {
        let k = self.key(&format!("o:{}:{value}", kind.as_str()));
        let packed: Option<Vec<u8>> = self.run(|c| redis::cmd("GET").arg(&k).query(c))?;
        let Some(packed) = packed else {
            return Ok(None);
        };
        crate::decode_object(crate::packed::unpack(&packed)?.text(), kind, value).map(Some)
    }

    fn object_put(&self, entry: &ObjectEntry) -> Result<()> {
        crate::check_object(entry)?;
        let k = self.key(&format!("o:{}:{}", entry.kind.as_str(), entry.value));
        let document =
            Document::new(crate::encode_object(entry)).expect("an encoded entry is JSON");
        let packed = crate::packed::pack(&document);
        self.run(|c| redis::cmd("SET").arg(&k).arg(&packed).query::<()>(c))
    }

    fn hash_claim(&self, hash: &str, token: &str, ttl: Duration) -> Result<bool> {
        let args = [
            hash.to_string(),
            token.to_string(),
            ttl.as_millis().to_string(),
        ];
        Ok(self.script::<i64>(lua::CLAIM, &args)? == 1)
    }

    fn hash_release(&self, hash: &str, token: &str) -> Result<()> {
        let args = [hash.to_string(), token.to_string()];
        self.script::<i64>(lua::UNCLAIM, &args).map(|_| ())
    }

    fn work_queue(&self) -> Option<Arc<dyn WorkQueue>> {
        let client = self.link.client().clone();
        Some(Arc::new(RedisQueue::new(
            client,
            self.link.shown(),
            &self.prefix,
        )))
    }

    fn job_delete(&self, id: &JobId) -> Result<bool> {
        Ok(self.script::<i64>(lua::JOB_DELETE, std::slice::from_ref(&id.0))? > 0)
    }
}
