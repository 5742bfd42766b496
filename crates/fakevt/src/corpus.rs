//! The fake's corpus: a deterministic, seeded set of files VirusTotal "knows", in every shape
//! the real service returns — heavily detected, barely detected, clean, never analysed,
//! sparse, and files whose names are attacks on whoever displays them.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::objects::{objects_for, Objects};
use crate::rng::Rng;

/// What kind of answer a corpus file gives, so tests can pick one without magic numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// Many engines detect it; has a threat label.
    Malicious,
    /// One or two detections, or a `suspicious` verdict.
    Suspicious,
    /// No detections.
    Clean,
    /// Known to VirusTotal but never scanned: no analysis date, no results.
    NeverAnalysed,
    /// Most attributes missing or null.
    Sparse,
    /// Detected, and named to attack HTML, CSV and terminal output.
    Hostile,
}

/// One file of the corpus.
#[derive(Debug, Clone)]
pub struct CorpusFile {
    pub index: usize,
    pub kind: FileKind,
    pub md5: String,
    pub sha1: String,
    pub sha256: String,
    pub malicious: u32,
    pub suspicious: u32,
    pub names: Vec<String>,
    pub type_description: &'static str,
    pub size: u64,
    pub first_seen: i64,
    pub last_seen: i64,
    pub last_analysis: i64,
    pub threat_label: Option<String>,
    pub reputation: i64,
    /// Seed of this file's per-engine results.
    pub engine_seed: u64,
}

/// File names that attack whatever shows them: HTML, spreadsheets, terminals.
pub const HOSTILE_NAMES: &[&str] = &[
    "<script>document.title='pwned'</script>.exe",
    "=HYPERLINK(\"http://evil.example\",\"click\").xlsx",
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3",
    "quote\" comma, and\nnewline.doc",
    "\u{1b}[31mred\u{1b}[0m.bin",
    "<img src=x onerror=alert(1)>.png",
];

/// Engine names, like the real list.
pub const ENGINES: &[&str] = &[
    "Bkav",
    "Lionic",
    "Elastic",
    "MicroWorld-eScan",
    "ClamAV",
    "CMC",
    "CAT-QuickHeal",
    "Skyhigh",
    "ALYac",
    "Malwarebytes",
    "Zillya",
    "Sangfor",
    "K7AntiVirus",
    "Alibaba",
    "K7GW",
    "Cybereason",
    "Baidu",
    "VirIT",
    "Symantec",
    "tehtris",
    "ESET-NOD32",
    "TrendMicro-HouseCall",
    "Avast",
    "Cynet",
    "Kaspersky",
    "BitDefender",
    "NANO-Antivirus",
    "SUPERAntiSpyware",
    "Tencent",
    "Emsisoft",
    "F-Secure",
    "DrWeb",
    "VIPRE",
    "TrendMicro",
    "McAfeeD",
    "Trapmine",
    "FireEye",
    "Sophos",
    "Ikarus",
    "Jiangmin",
    "Varist",
    "Avira",
    "Antiy-AVL",
    "Kingsoft",
    "Gridinsoft",
    "Xcitium",
    "Arcabit",
    "ViRobot",
    "ZoneAlarm",
    "GData",
    "Google",
    "AhnLab-V3",
    "Acronis",
    "McAfee",
    "MAX",
    "VBA32",
    "Zoner",
    "Rising",
    "Yandex",
    "TACHYON",
    "MaxSecure",
    "Fortinet",
    "AVG",
    "Panda",
    "CrowdStrike",
];

const TYPES: &[&str] = &[
    "Win32 EXE",
    "Win32 DLL",
    "PDF",
    "MS Word Document",
    "ZIP",
    "ELF",
    "JavaScript",
];

const LABELS: &[&str] = &[
    "trojan.emotet/heodo",
    "ransomware.lockbit/lockbit3",
    "trojan.agenttesla/agensla",
    "downloader.qakbot/qbot",
    "hacktool.mimikatz/mimi",
];

fn hex_digest(text: &str, len: usize) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex[..len].to_string()
}

/// A sha256 that no corpus holds (it is derived from a different prefix).
pub fn unknown_hash(i: u64) -> String {
    hex_digest(&format!("vtsum-fake|unknown|{i}"), 64)
}

/// The known files, findable by md5, sha1 or sha256.
#[derive(Debug, Clone)]
pub struct Corpus {
    files: Vec<CorpusFile>,
    by_hash: HashMap<String, usize>,
    /// URLs, domains and IP addresses (see `objects`).
    pub(crate) objects: Objects,
}

impl Corpus {
    /// `n` files from `seed`. The kinds cycle so that every kind appears in the first ten:
    /// malicious, clean, suspicious, never analysed, malicious, clean, sparse, hostile,
    /// clean, malicious. It also holds [`objects_for`]`(n)` URLs, domains and IPs.
    pub fn generate(seed: u64, n: usize) -> Corpus {
        Corpus::generate_with_objects(seed, n, objects_for(n))
    }

    /// `n` files and `objects` URLs, domains and IP addresses (each) from `seed`.
    pub fn generate_with_objects(seed: u64, n: usize, objects: usize) -> Corpus {
        const CYCLE: [FileKind; 10] = [
            FileKind::Malicious,
            FileKind::Clean,
            FileKind::Suspicious,
            FileKind::NeverAnalysed,
            FileKind::Malicious,
            FileKind::Clean,
            FileKind::Sparse,
            FileKind::Hostile,
            FileKind::Clean,
            FileKind::Malicious,
        ];
        let mut files = Vec::with_capacity(n);
        let mut by_hash = HashMap::with_capacity(n * 3);
        for index in 0..n {
            let mut rng = Rng::new(seed ^ (index as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
            let kind = CYCLE[index % CYCLE.len()];
            let base = format!("vtsum-fake|{seed}|{index}");
            let (malicious, suspicious) = match kind {
                FileKind::Malicious => (10 + rng.below(50) as u32, rng.below(3) as u32),
                FileKind::Hostile => (5 + rng.below(20) as u32, 0),
                FileKind::Suspicious => (rng.below(3) as u32, 1),
                FileKind::Sparse => (rng.below(2) as u32, 0),
                _ => (0, 0),
            };
            let first_seen = 1_400_000_000 + rng.below(300_000_000) as i64;
            let last_seen = first_seen + rng.below(50_000_000) as i64;
            let name = match kind {
                FileKind::Hostile => HOSTILE_NAMES[(index / 10) % HOSTILE_NAMES.len()].to_string(),
                _ => format!(
                    "file-{index}.{}",
                    ["exe", "dll", "pdf", "doc", "zip"][index % 5]
                ),
            };
            let mut names = vec![name];
            if kind == FileKind::Hostile && index / 10 % 3 == 0 {
                names.push("A".repeat(5_000));
            }
            if kind == FileKind::Malicious {
                names.push(format!("invoice_{index}.pdf.exe"));
            }
            let file = CorpusFile {
                index,
                kind,
                md5: hex_digest(&format!("{base}|md5"), 32),
                sha1: hex_digest(&format!("{base}|sha1"), 40),
                sha256: hex_digest(&format!("{base}|sha256"), 64),
                malicious,
                suspicious,
                names,
                type_description: TYPES[rng.below(TYPES.len() as u64) as usize],
                size: 1_000 + rng.below(5_000_000),
                first_seen,
                last_seen,
                last_analysis: last_seen + rng.below(1_000_000) as i64,
                threat_label: (malicious >= 5)
                    .then(|| LABELS[rng.below(LABELS.len() as u64) as usize].to_string()),
                reputation: -(malicious as i64) + rng.below(5) as i64,
                engine_seed: rng.next(),
            };
            for h in [&file.md5, &file.sha1, &file.sha256] {
                by_hash.insert(h.clone(), index);
            }
            files.push(file);
        }
        Corpus {
            files,
            by_hash,
            objects: crate::object_gen::generate(seed, objects),
        }
    }

    pub fn files(&self) -> &[CorpusFile] {
        &self.files
    }

    /// The sha256 of the first `n` files (fewer if the corpus is smaller): known hashes
    /// for a test's input.
    pub fn sha256s(&self, n: usize) -> Vec<String> {
        self.files
            .iter()
            .take(n)
            .map(|f| f.sha256.clone())
            .collect()
    }

    /// A file by any of its hashes, case-insensitively.
    pub fn find(&self, hash: &str) -> Option<&CorpusFile> {
        self.by_hash
            .get(&hash.to_ascii_lowercase())
            .map(|&i| &self.files[i])
    }

    /// The first file of a kind.
    pub fn first_of(&self, kind: FileKind) -> Option<&CorpusFile> {
        self.files.iter().find(|f| f.kind == kind)
    }
}

/// One engine's verdict on a file: (category, result label).
pub(crate) fn engine_results(
    file: &CorpusFile,
) -> Vec<(&'static str, &'static str, Option<String>)> {
    if file.kind == FileKind::NeverAnalysed {
        return Vec::new();
    }
    let mut rng = Rng::new(file.engine_seed);
    let mut order: Vec<usize> = (0..ENGINES.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let label = file
        .threat_label
        .clone()
        .unwrap_or_else(|| "Generic.Malware".to_string());
    let mut out = Vec::with_capacity(ENGINES.len());
    for (rank, &e) in order.iter().enumerate() {
        let rank = rank as u32;
        let (category, result) = if rank < file.malicious {
            ("malicious", Some(format!("{label}.{}", rng.below(1000))))
        } else if rank < file.malicious + file.suspicious {
            ("suspicious", Some("Suspicious.Heuristic".to_string()))
        } else if rank % 17 == 16 {
            ("type-unsupported", None)
        } else if rank % 23 == 22 {
            ("timeout", None)
        } else {
            ("undetected", None)
        };
        out.push((ENGINES[e], category, result));
    }
    out
}
