//! Reading a submission: `text/plain` (any text holding hashes), a multipart upload (a
//! `file` and/or a `text` field, from the front page or `curl -F`), a urlencoded form
//! (`text=`), or JSON `{"hashes": [...], "label": ...}`. The body is read up to the upload
//! limit and no further; anything else is a 400 with a message.
//!
//! Which kinds of indicator a text's job looks up: `?kinds=` on the request (`hashes`,
//! `urls`, `domains`, `ips`, comma-separated, or `all`), or the upload's `kind` fields (the
//! front page's checkboxes), which must come before its `file` and `text` (the form puts
//! them first): the text is read once, as it streams, so what to look for is settled
//! before it. Without either, hashes only. A JSON list is hashes only.

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::HeaderMap;
use serde::Deserialize;
use vtsum_core::extract::ioc::{Indicators, IocExtractor, IocOptions, KindList, Kinds, SkipList};
use vtsum_core::extract::{extract_bytes, Extracted, Extractor};
use vtsum_core::Hash;

use crate::WebError;

/// What a submission held.
#[derive(Debug, Default)]
pub struct Submission {
    pub label: String,
    pub extracted: Extracted,
    /// URLs, domains and IP addresses in the text, when asked for ([`read_with_others`]).
    pub others: Option<Indicators>,
    /// What the job looks up.
    pub kinds: KindList,
}

#[derive(Deserialize)]
struct KindsQuery {
    #[serde(default)]
    kinds: Option<String>,
}

fn parse_kinds(text: &str) -> Result<KindList, WebError> {
    KindList::parse(text).map_err(|e| WebError::BadRequest(format!("kinds: {e}")))
}

/// Reads the whole body, refusing more than `limit` bytes with 413: at once when the
/// declared length is over it, else as soon as the bytes read go over it.
pub async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<axum::body::Bytes, WebError> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(WebError::TooLarge { limit });
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large = std::error::Error::source(&e)
            .is_some_and(|s| s.to_string().contains("length limit"))
            || e.to_string().contains("length limit");
        if too_large {
            WebError::TooLarge { limit }
        } else {
            WebError::BadRequest(format!("could not read the request body: {e}"))
        }
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonSubmission {
    hashes: Vec<String>,
    #[serde(default)]
    label: Option<String>,
}

/// Parses a submission of any accepted kind.
pub async fn read(req: Request, limit: usize) -> Result<Submission, WebError> {
    read_with_others(req, limit, false, &SkipList::default()).await
}

/// [`read`], dropping what `skip` lists from the URLs, domains and IP addresses.
pub async fn read_skipping(
    req: Request,
    limit: usize,
    skip: &SkipList,
) -> Result<Submission, WebError> {
    read_with_others(req, limit, false, skip).await
}

/// [`read`], also finding URLs, domains and IP addresses in the text when `others` (the
/// front page's preview shows what a text holds; a job does not need it yet).
pub async fn read_with_others(
    req: Request,
    limit: usize,
    others: bool,
    skip: &SkipList,
) -> Result<Submission, WebError> {
    let asked = axum::extract::Query::<KindsQuery>::try_from_uri(req.uri())
        .map_err(|e| WebError::BadRequest(format!("not a valid query string: {e}")))?
        .0
        .kinds
        .filter(|k| !k.trim().is_empty());
    let kinds = match asked.as_deref() {
        Some(text) => parse_kinds(text)?,
        None => KindList::default(),
    };
    // The preview counts every kind; a job looks for what it was asked to.
    let finder = move |kinds: KindList| {
        (others || kinds.any_other()).then(|| {
            IocExtractor::new(IocOptions {
                kinds: if others {
                    Kinds::default()
                } else {
                    kinds.other
                },
                skip: skip.clone(),
                ..IocOptions::default()
            })
        })
    };
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("text/plain")
        .to_ascii_lowercase();
    let (parts, body) = req.into_parts();
    let bytes = read_body(&parts.headers, body, limit).await?;
    if content_type.starts_with("multipart/form-data") {
        let req = Request::from_parts(parts, Body::from(bytes));
        let multipart = Multipart::from_request(req, &())
            .await
            .map_err(|e| WebError::BadRequest(format!("not a valid multipart upload: {e}")))?;
        return read_multipart(multipart, kinds, asked.is_some(), finder).await;
    }
    if content_type.starts_with("application/json") {
        let sub: JsonSubmission = serde_json::from_slice(&bytes).map_err(|e| {
            WebError::BadRequest(format!(
                "the JSON body must be {{\"hashes\": [\"<md5|sha1|sha256>\", ...]}}: {e}"
            ))
        })?;
        if kinds.any_other() || !kinds.hashes {
            return Err(WebError::BadRequest(
                "a JSON list holds hashes only: send the text itself (text/plain, a form or \
                 an upload) to look up URLs, domains or IP addresses"
                    .into(),
            ));
        }
        return from_list(sub.hashes, sub.label.unwrap_or_default());
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        #[derive(Deserialize)]
        struct Form {
            #[serde(default)]
            text: String,
            #[serde(default)]
            label: String,
        }
        let req = Request::from_parts(parts, Body::from(bytes));
        let form = axum::Form::<Form>::from_request(req, &())
            .await
            .map_err(|e| WebError::BadRequest(format!("not a valid form: {e}")))?
            .0;
        return Ok(Submission {
            label: form.label,
            extracted: extract_bytes(form.text.as_bytes()),
            others: finish(finder(kinds), form.text.as_bytes()),
            kinds,
        });
    }
    Ok(Submission {
        label: String::new(),
        extracted: extract_bytes(&bytes),
        others: finish(finder(kinds), &bytes),
        kinds,
    })
}

fn finish(finder: Option<IocExtractor>, text: &[u8]) -> Option<Indicators> {
    finder.map(|mut f| {
        f.feed(text);
        f.finish()
    })
}

async fn read_multipart(
    mut multipart: Multipart,
    mut kinds: KindList,
    from_query: bool,
    finder: impl Fn(KindList) -> Option<IocExtractor>,
) -> Result<Submission, WebError> {
    let mut ex = Extractor::new();
    let mut label = String::new();
    let mut others: Option<Option<IocExtractor>> = None;
    let mut fields: Option<KindList> = None;
    let bad = |e: axum::extract::multipart::MultipartError| {
        WebError::BadRequest(format!("could not read the upload: {e}"))
    };
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        match field.name().unwrap_or("") {
            "kind" => {
                let text = field.text().await.map_err(bad)?;
                if others.is_some() {
                    return Err(WebError::BadRequest(
                        "kind fields must come before the file and the text".into(),
                    ));
                }
                if from_query {
                    return Err(WebError::BadRequest(
                        "kinds named twice: in the query string and as kind fields".into(),
                    ));
                }
                let more = parse_kinds(&text)?;
                fields = Some(fields.unwrap_or(KindList::NONE).union(more));
            }
            "file" | "text" => {
                let others = others.get_or_insert_with(|| {
                    kinds = fields.unwrap_or(kinds);
                    finder(kinds)
                });
                if label.is_empty() {
                    label = field.file_name().unwrap_or("").to_string();
                }
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    ex.feed(&chunk);
                    if let Some(others) = others.as_mut() {
                        others.feed(&chunk);
                    }
                }
                // A field's end is a line end: the last line of a file and the first of
                // the pasted text must not join.
                ex.feed(b"\n");
                if let Some(others) = others.as_mut() {
                    others.feed(b"\n");
                }
            }
            "label" => {
                let text = field.text().await.map_err(bad)?;
                if !text.trim().is_empty() {
                    label = text;
                }
            }
            _ => {}
        }
    }
    // Kind fields with no text after them still say what was asked for.
    let kinds = match others {
        None => fields.unwrap_or(kinds),
        Some(_) => kinds,
    };
    Ok(Submission {
        label,
        extracted: ex.finish(),
        others: others.flatten().map(IocExtractor::finish),
        kinds,
    })
}

/// A JSON list: every entry must be a hash.
fn from_list(list: Vec<String>, label: String) -> Result<Submission, WebError> {
    let mut ex = Extractor::new();
    for (i, item) in list.iter().enumerate() {
        if Hash::parse(item).is_none() {
            let shown: String = item.chars().take(80).collect();
            return Err(WebError::BadRequest(format!(
                "hashes[{i}] ({shown:?}) is not an md5, sha1 or sha256 hex digest"
            )));
        }
        ex.feed(item.trim().as_bytes());
        ex.feed(b"\n");
    }
    Ok(Submission {
        label,
        extracted: ex.finish(),
        others: None,
        kinds: KindList::default(),
    })
}

/// The label shown for a job: the upload's name, else a default; bounded and single-line.
pub fn clean_label(label: &str, hashes: usize) -> String {
    label_or(label, || {
        let noun = if hashes == 1 { "hash" } else { "hashes" };
        format!("{hashes} {noun}")
    })
}

/// [`clean_label`] with any text standing in for an empty label.
pub fn label_or(label: &str, default: impl FnOnce() -> String) -> String {
    let cleaned: String = label
        .chars()
        .filter(|c| !c.is_control())
        .take(120)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        default()
    } else {
        cleaned.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::clean_label;

    #[test]
    fn default_labels_count_in_the_right_number() {
        assert_eq!(clean_label("", 1), "1 hash");
        assert_eq!(clean_label(" ", 2), "2 hashes");
        assert_eq!(clean_label("iocs.txt", 1), "iocs.txt");
    }
}
