//! Extraction through `Extractor::read_all`: whatever the read sizes, buffer sizes and
//! number of threads, the result is exactly that of one pass over the whole input — hashes
//! straddling a read, a round or a thread's part are found once, a SHA-512 across any of
//! them is never split, labelled groups and non-file hashes read the same, and lines longer
//! than the buffer still count right.

use std::io::Read;

use proptest::prelude::*;
use vtsum_core::extract::{extract_bytes, Extracted, Extractor};

/// A reader that hands out at most `step` bytes a read (a pipe, a slow disk).
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.data.len().min(self.step).min(buf.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn read_all(data: &[u8], step: usize, threads: usize, part: usize) -> Extracted {
    let mut ex = Extractor::new();
    ex.read_all_in(Trickle { data, step }, threads, part)
        .unwrap();
    ex.finish()
}

const MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";
const SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Lines of hashes, SHA-512s, near-misses and prose, so hits are common.
fn lines() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        "[0-9a-fA-F]{32}",
        "[0-9a-fA-F]{40}",
        "[0-9a-fA-F]{64}",
        "[0-9a-f]{128}",
        "[0-9a-fA-F]{30,66}",
        "[a-z_]{1,3}",
        "[ ,;:=\t\r-]{1,3}",
        // Labels, so groups (`MD5=…,SHA256=…`) and non-file hashes (`IMPHASH=…`) straddle
        // reads, buffers and threads too.
        "(MD5|sha1|SHA-256|sha256|IMPHASH|tlsh)[=:] ?",
        "[,;|\"]{1,2}",
        "\n{1,2}",
        "\u{feff}",
        "[\\x{80}-\\x{10FFFF}]",
    ];
    prop::collection::vec(piece, 0..120).prop_map(|p| p.concat().into_bytes())
}

proptest! {
    #[test]
    fn any_reads_buffers_and_threads_equal_one_pass(
        bytes in lines(),
        step in 1usize..200,
        threads in 1usize..4,
        part in 2usize..300,
    ) {
        prop_assert_eq!(read_all(&bytes, step, threads, part), extract_bytes(&bytes));
    }
}

/// Every place a boundary can fall relative to a hash: the md5 and sha256 are found once
/// each, the SHA-512 never (it is not two sha256s), and lines are counted once.
#[test]
fn a_hash_across_any_boundary_is_found_once_and_a_sha512_never_split() {
    let sha512 = SHA256.repeat(2);
    for pad in 0..70 {
        let text = format!(
            "{}\n{sha512} x\nmd5={MD5};{SHA256}\nprose only\n{}{MD5}\n",
            "-".repeat(pad),
            " ".repeat(pad % 7)
        );
        let whole = extract_bytes(text.as_bytes());
        let got: Vec<String> = whole.hashes.iter().map(|h| h.to_string()).collect();
        assert_eq!(got, vec![MD5, SHA256], "pad {pad}");
        assert_eq!(whole.duplicates, 1);
        assert_eq!(whole.lines, 5);
        assert_eq!(whole.lines_without_hash, 3 - u64::from(pad == 0));
        for part in [2, 16, 33, 64, 65, 100] {
            for threads in [1, 2, 3] {
                assert_eq!(
                    read_all(text.as_bytes(), 7, threads, part),
                    whole,
                    "pad {pad}, part {part}, threads {threads}"
                );
            }
        }
    }
}

/// A file that is one long line, far longer than the buffer, goes through in pieces.
#[test]
fn a_line_longer_than_the_buffer_still_counts() {
    let mut text = String::new();
    for i in 0..2_000 {
        text.push_str(&format!("{i:032x} "));
    }
    let whole = extract_bytes(text.as_bytes());
    assert_eq!(whole.hashes.len(), 2_000);
    assert_eq!(whole.lines, 1);
    for threads in [1, 2] {
        assert_eq!(read_all(text.as_bytes(), 4096, threads, 1000), whole);
    }
}

/// The real buffer size with many lines, so rounds really split between threads.
#[test]
fn megabytes_of_lines_on_two_threads_equal_one_pass() {
    let mut text = String::new();
    let mut i = 0u64;
    while text.len() < 5_000_000 {
        text.push_str(&format!(
            "{:064x} seen\n{:032X},{:040x}\nno hash here\n\n",
            i.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            i % 5_000,
            i
        ));
        i += 1;
    }
    let one = extract_bytes(text.as_bytes());
    let mut ex = Extractor::new();
    ex.read_all(text.as_bytes(), 2).unwrap();
    let two = ex.finish();
    assert_eq!(two, one);
    assert_eq!(one.lines, 4 * i);
    assert_eq!(one.lines_without_hash, i);
    assert_eq!(one.hashes.len() as u64, i + 5_000.min(i) + i);
}
