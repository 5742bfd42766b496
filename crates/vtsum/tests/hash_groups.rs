//! Labelled hashes of one file cost one request: a Sysmon `Hashes=MD5=…,SHA256=…,IMPHASH=…`
//! line is looked up by its SHA256; its MD5 is answered from that answer when VirusTotal's
//! file has that md5, and looked up on its own only when it does not (another file, or an
//! unknown SHA256). The IMPHASH is never asked. A real `vtsum scan` against the fake.

mod support;

use support::{json, vtsum};

use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_is_asked_once_and_its_weak_hash_only_when_the_answer_disagrees() {
    let windows = [(1_000, Duration::from_secs(1))];
    let fake = fakevt::spawn(vtsum_test_utils::fake_config(&["k1"], &windows, None))
        .await
        .unwrap();
    let files = fake.corpus().files();
    let (a, b, c, e) = (&files[0], &files[1], &files[2], &files[3]);
    let unknown = fakevt::unknown_hash(7);
    let imphash = |i: u64| format!("{:032x}", 0xabcdef_u64 + i);
    let text = format!(
        "Process Create: Image=C:\\\\x.exe Hashes=MD5={am},SHA256={a256},IMPHASH={i1}\n\
         Process Create: Image=C:\\\\y.exe Hashes=MD5={bm},SHA256={c256},IMPHASH={i2}\n\
         Process Create: Image=C:\\\\z.exe Hashes=MD5={em},SHA256={unknown}\n",
        am = a.md5.to_uppercase(),
        a256 = a.sha256.to_uppercase(),
        bm = b.md5,
        c256 = c.sha256,
        em = e.md5,
        i1 = imphash(1),
        i2 = imphash(2),
    );
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("sysmon.log");
    std::fs::write(&input, text).unwrap();
    let mut cmd = vtsum(&fake, dir.path());
    cmd.env("VT_RATE", "1000/1s")
        .args(["scan", "--concurrency", "8", "--format", "json"])
        .arg(&input);
    let out = json(&tokio::task::block_in_place(|| cmd.output()).unwrap());

    let asked = fake.counters().requests_by_hash;
    let times = |h: &str| asked.get(h).copied().unwrap_or(0);
    assert_eq!(times(&a.sha256), 1, "{asked:?}");
    assert_eq!(
        times(&a.md5),
        0,
        "the agreeing md5 costs nothing: {asked:?}"
    );
    assert_eq!(times(&c.sha256), 1, "{asked:?}");
    assert_eq!(times(&b.md5), 1, "another file's md5 is asked: {asked:?}");
    assert_eq!(times(&unknown), 1, "{asked:?}");
    assert_eq!(
        times(&e.md5),
        1,
        "an unknown sha256 says nothing of the md5"
    );
    assert_eq!(
        times(&imphash(1)) + times(&imphash(2)),
        0,
        "no IMPHASH asked"
    );
    assert_eq!(asked.values().sum::<u64>(), 5, "{asked:?}");

    let rows = out["results"].as_array().unwrap();
    let inputs: Vec<&str> = rows.iter().map(|r| r["input"].as_str().unwrap()).collect();
    assert_eq!(
        inputs,
        [
            a.sha256.as_str(),
            &c.sha256,
            &unknown,
            &a.md5,
            &b.md5,
            &e.md5
        ],
        "one row per hash, the weaker ones after"
    );
    let md5_row = &rows[3];
    assert_eq!(md5_row["sha256"], a.sha256.as_str(), "{md5_row}");
    assert_eq!(md5_row["from_cache"], true, "{md5_row}");
    assert_eq!(rows[4]["sha256"], b.sha256.as_str(), "b's own answer");
    assert_eq!(out["summary"]["non_file_hashes"], 2, "{}", out["summary"]);
}
