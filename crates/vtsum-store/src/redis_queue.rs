//! The work queue on Redis: a stream (`<prefix>queue`) with one consumer group
//! (`workers`); each entry is one part of a job (`job`, `from`, `to`). Entries are added by
//! the job-creating script in the same step as the job, so a job can never exist without
//! its parts. A worker reads with `XREADGROUP`, keeps its part with `XCLAIM … JUSTID`
//! (which resets the idle time), and removes it with `XACK` + `XDEL`; `XAUTOCLAIM` hands a
//! dead worker's part to a live one. Progress goes out on `PUBLISH <prefix>ev:<job>`.
//!
//! Durability is the server's: with `appendonly yes` the stream, its group and the
//! pending entries survive a restart; without it a restart loses queued parts (the jobs
//! themselves too).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::Value;

use super::redis_link::Link;
use vtsum_core::error::{Error, Result};
use vtsum_core::queue::{Part, WorkQueue};
use vtsum_core::store::JobId;

const GROUP: &str = "workers";

/// The queue of one Redis store.
pub struct RedisQueue {
    /// Short commands.
    quick: Link,
    /// `XREADGROUP … BLOCK`, which holds its connection while it waits.
    blocking: Link,
    prefix: String,
}

type Entry = (String, Vec<String>);
/// `XREADGROUP`'s reply: per stream, its name and entries; nil when nothing came.
type ReadReply = Option<Vec<(String, Vec<Entry>)>>;

impl RedisQueue {
    pub(crate) fn new(client: redis::Client, shown: &str, prefix: &str) -> RedisQueue {
        RedisQueue {
            quick: Link::new(client.clone(), shown.to_string(), Duration::from_secs(5)),
            // Longer than any block a worker asks for.
            blocking: Link::new(client, shown.to_string(), Duration::from_secs(35)),
            prefix: prefix.to_string(),
        }
    }

    fn stream(&self) -> String {
        format!("{}queue", self.prefix)
    }

    /// Creates the group if it does not exist (a new server, or one restarted without
    /// persistence); `0` so entries added before any worker started are delivered.
    fn ensure_group(&self) -> Result<()> {
        let stream = self.stream();
        self.quick.run(|c| {
            let made = redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(&stream)
                .arg(GROUP)
                .arg("0")
                .arg("MKSTREAM")
                .query::<()>(c);
            match made {
                Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
                other => other,
            }
        })
    }

    fn part(&self, (entry, fields): Entry) -> Option<Part> {
        let field = |name: &str| {
            fields
                .chunks(2)
                .find(|kv| kv.len() == 2 && kv[0] == name)
                .map(|kv| kv[1].clone())
        };
        let part = Part {
            job: JobId::parse(&field("job")?)?,
            from: field("from")?.parse().ok()?,
            to: field("to")?.parse().ok()?,
            entry,
        };
        Some(part)
    }

    fn claim_idle(&self, worker: &str, claim_after: Duration) -> Result<Option<Part>> {
        let stream = self.stream();
        let (_, entries, _): (String, Vec<Entry>, Vec<String>) = self.quick.run(|c| {
            redis::cmd("XAUTOCLAIM")
                .arg(&stream)
                .arg(GROUP)
                .arg(worker)
                .arg(claim_after.as_millis() as u64)
                .arg("0-0")
                .arg("COUNT")
                .arg(1)
                .query(c)
        })?;
        Ok(self.first_valid(entries))
    }

    /// The first well-formed entry; malformed ones are removed so they cannot block.
    fn first_valid(&self, entries: Vec<Entry>) -> Option<Part> {
        for entry in entries {
            let id = entry.0.clone();
            match self.part(entry) {
                Some(part) => return Some(part),
                None => {
                    tracing::warn!("dropping malformed queue entry {id}");
                    let _ = self.ack(&id);
                }
            }
        }
        None
    }

    fn ack(&self, entry: &str) -> Result<()> {
        let stream = self.stream();
        self.quick.run(|c| {
            redis::pipe()
                .atomic()
                .cmd("XACK")
                .arg(&stream)
                .arg(GROUP)
                .arg(entry)
                .ignore()
                .cmd("XDEL")
                .arg(&stream)
                .arg(entry)
                .ignore()
                .query::<()>(c)
        })
    }

    /// Runs a group command, creating the group first if the server has none.
    fn with_group<T>(&self, command: impl Fn() -> Result<T>) -> Result<T> {
        match command() {
            Err(e) if is_nogroup(&e) => {
                self.ensure_group()?;
                command()
            }
            other => other,
        }
    }
}

fn is_nogroup(e: &Error) -> bool {
    crate::StoreError::redis_code(e) == Some("NOGROUP")
}

impl WorkQueue for RedisQueue {
    fn backlog(&self) -> Result<u64> {
        // A part leaves the stream (XDEL) only when it is finished.
        let stream = self.stream();
        self.quick.run(|c| redis::cmd("XLEN").arg(&stream).query(c))
    }

    fn next_part(
        &self,
        worker: &str,
        block: Duration,
        claim_after: Duration,
    ) -> Result<Option<Part>> {
        let taken = self.with_group(|| self.claim_idle(worker, claim_after))?;
        if taken.is_some() {
            return Ok(taken);
        }
        let stream = self.stream();
        let read = || -> Result<ReadReply> {
            self.blocking.run(|c| {
                redis::cmd("XREADGROUP")
                    .arg("GROUP")
                    .arg(GROUP)
                    .arg(worker)
                    .arg("COUNT")
                    .arg(1)
                    .arg("BLOCK")
                    .arg(block.as_millis().max(1) as u64)
                    .arg("STREAMS")
                    .arg(&stream)
                    .arg(">")
                    .query(c)
            })
        };
        let reply = self.with_group(read)?;
        let entries = reply
            .into_iter()
            .flatten()
            .flat_map(|(_, entries)| entries)
            .collect();
        Ok(self.first_valid(entries))
    }

    fn touch(&self, worker: &str, part: &Part) -> Result<()> {
        let stream = self.stream();
        self.quick.run(|c| {
            redis::cmd("XCLAIM")
                .arg(&stream)
                .arg(GROUP)
                .arg(worker)
                .arg(0)
                .arg(&part.entry)
                .arg("JUSTID")
                .query::<Value>(c)
        })?;
        Ok(())
    }

    fn finish(&self, part: &Part) -> Result<()> {
        self.ack(&part.entry)
    }

    fn publish(&self, job: &JobId, message: &str) -> Result<()> {
        let channel = format!("{}ev:{}", self.prefix, job.0);
        self.quick.run(|c| {
            redis::cmd("PUBLISH")
                .arg(&channel)
                .arg(message)
                .query::<i64>(c)
        })?;
        Ok(())
    }

    fn listen(&self, stop: &AtomicBool, each: &mut dyn FnMut(JobId, String)) -> Result<()> {
        let mut conn = self.quick.open(Duration::from_secs(1))?;
        let mut pubsub = conn.as_pubsub();
        let pattern = format!("{}ev:*", self.prefix);
        pubsub.psubscribe(&pattern).map_err(|e| self.quick.err(e))?;
        let channel_prefix = format!("{}ev:", self.prefix);
        while !stop.load(Ordering::Relaxed) {
            let msg = match pubsub.get_message() {
                Ok(msg) => msg,
                Err(e) if e.is_timeout() => continue,
                Err(e) => return Err(self.quick.err(e)),
            };
            let job = msg
                .get_channel_name()
                .strip_prefix(&channel_prefix)
                .and_then(JobId::parse);
            if let (Some(job), Ok(text)) = (job, msg.get_payload::<String>()) {
                each(job, text);
            }
        }
        Ok(())
    }
}
