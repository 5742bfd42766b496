//! Command-line arguments, as clap parses them. Values that may also come from the
//! environment or the config file are `Option`s here; [`crate::settings`] merges them.

pub mod watch;

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use vtsum_core::extract::ioc::KindList;
use vtsum_core::render::Format;

const EXAMPLES: &str = "\
Examples:
  vtsum scan --demo examples/hashes.txt        try it offline against the built-in fake
  VT_API_KEY=key1,key2 vtsum scan incident-42.txt -o report.csv
  vtsum scan incident-42.txt -o report.xlsx     an Excel workbook
  grep -h sha256 *.log | vtsum scan - --format jsonl | jq .verdict
  vtsum scan hashes.txt --fail-on malicious     exit 4 if anything is malicious (CI gate)
  vtsum serve --demo                            the web app at http://127.0.0.1:8080
  vtsum quota                                   requests left per key today
  vtsum extract *.log > hashes.txt              the unique hashes only (offline, no key)";

/// Turn a list of file hashes into a VirusTotal report, spending free API keys exactly at
/// their limits.
#[derive(Debug, Parser)]
#[command(name = "vtsum", version, about, after_help = EXAMPLES, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command understands.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Config file (TOML); default ~/.config/vtsum/config.toml when it exists.
    #[arg(long, global = true, env = "VTSUM_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where the cache, quota ledger and jobs live: sqlite:PATH (default
    /// ~/.local/share/vtsum/vtsum.db; shared by processes on one machine),
    /// redis://[:pw@]host:port/db or rediss://… (shared by machines), or none (no cache or
    /// jobs kept; the quota still kept in quota.db in the same data directory).
    #[arg(long, global = true, env = "VTSUM_STORE", value_name = "URL")]
    pub store: Option<String>,
    /// Print nothing on stderr but errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More log output on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// How vtsum reaches VirusTotal.
#[derive(Debug, Args, Clone, Default)]
pub struct ApiArgs {
    /// VirusTotal API key; repeat for several. Prefer VT_API_KEY=k1,k2: arguments show in `ps`.
    #[arg(
        long = "api-key",
        env = "VT_API_KEY",
        hide_env_values = true,
        value_delimiter = ',',
        value_name = "KEY"
    )]
    pub api_keys: Vec<String>,
    /// Base URL of the VirusTotal API [default: https://www.virustotal.com].
    #[arg(long, env = "VT_API_URL", value_name = "URL")]
    pub api_url: Option<String>,
    /// API version to speak [default: v3].
    #[arg(long, value_enum, value_name = "VERSION")]
    pub api_version: Option<ApiVersionArg>,
    /// Per-key limits, e.g. 4/min,500/day or 4/1s [default: 4/min, with each key's daily
    /// allowance read from VirusTotal (500 if it cannot be read)]. A daily limit given here
    /// wins over VirusTotal's figures.
    #[arg(long, env = "VT_RATE", value_name = "RATE")]
    pub rate: Option<String>,
    /// Use the built-in fake VirusTotal with demo keys (offline; nothing real is contacted).
    #[arg(long)]
    pub demo: bool,
}

/// `--api-version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApiVersionArg {
    V3,
    V2,
}

/// `--format`: any format of the core registry, described in `--help` by the registry.
fn format_parser() -> impl TypedValueParser<Value = Format> {
    PossibleValuesParser::new(Format::ALL.map(|f| PossibleValue::new(f.name()).help(f.about())))
        .try_map(|name| name.parse::<Format>())
}

/// `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Exit 4 when any row is malicious.
    Malicious,
    /// Exit 4 when any row is malicious or suspicious.
    Suspicious,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Look up every hash found in files or standard input and print a report.
    #[command(after_help = EXAMPLES)]
    Scan(ScanArgs),
    /// Print the unique hashes found in files or standard input, one per line (offline, no
    /// key needed).
    Extract(ExtractArgs),
    /// Show each key's requests used and allowed (from VirusTotal and the local ledger).
    Quota(QuotaArgs),
    /// What changed between two reports (JSON or JSON Lines) or jobs: verdicts,
    /// detections crossing the threshold, new threat labels.
    Diff(DiffArgs),
    /// Watchlists: indicators re-checked on spare quota, with change alerts.
    #[command(subcommand)]
    Watch(watch::WatchCommand),
    /// Inspect or empty the cache.
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Run the web app.
    Serve(ServeArgs),
    /// Run jobs from a Redis store's work queue (web jobs of every `vtsum serve` on it).
    Worker(WorkerArgs),
    /// Run the fake VirusTotal server (for tests, benchmarks and demos).
    Fakevt(FakevtArgs),
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on standard output.
    Man,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files to read hashes from; `-` or nothing for standard input.
    #[arg(value_name = "FILE")]
    pub inputs: Vec<PathBuf>,
    #[command(flatten)]
    pub api: ApiArgs,
    /// Report format [default: from -o's extension, else table on a terminal, else csv].
    /// xlsx is an Excel workbook: write it with -o report.xlsx or into a pipe, not to a
    /// terminal.
    #[arg(short, long, value_parser = format_parser(), value_name = "FORMAT")]
    pub format: Option<Format>,
    /// Write the report to FILE instead of standard output; its extension chooses the
    /// format (.csv, .json, .jsonl/.ndjson, .html/.htm, .xlsx, .stix, .misp, .txt for the
    /// table); `--format stix|misp -o x.json` is fine too.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Include every engine's result in each row (json, jsonl, html).
    #[arg(long)]
    pub engines: bool,
    /// Malicious detections needed for the `malicious` verdict [default: 3].
    #[arg(long, value_name = "N")]
    pub threshold: Option<u32>,
    /// Exit with code 4 when a row is this bad or worse.
    #[arg(long, value_enum, value_name = "VERDICT")]
    pub fail_on: Option<FailOn>,
    /// Requests in flight at most [default: 8].
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// How long a cached answer about a known file stays fresh [default: 7d].
    #[arg(long, value_name = "DURATION")]
    pub max_age: Option<String>,
    /// How long a cached "unknown to VirusTotal" stays fresh [default: 1d].
    #[arg(long, value_name = "DURATION")]
    pub max_age_unknown: Option<String>,
    /// Ignore cached answers: ask VirusTotal again for every hash.
    #[arg(long)]
    pub refresh: bool,
    /// When every key is out of daily quota, sleep until it resets and go on.
    #[arg(long)]
    pub wait: bool,
    /// Colour in the table: auto (a terminal without NO_COLOR), always, never.
    #[arg(long, value_enum, default_value = "auto", value_name = "WHEN")]
    pub color: ColorWhen,
    #[command(flatten)]
    pub which: KindArgs,
}

#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// Files to read hashes from; `-` or nothing for standard input.
    #[arg(value_name = "FILE")]
    pub inputs: Vec<PathBuf>,
    /// Print only the summary: hashes by kind, lines without a hash, duplicates.
    #[arg(long)]
    pub count: bool,
    #[command(flatten)]
    pub which: KindArgs,
}

/// Which indicators `scan` looks up and `extract` prints.
#[derive(Debug, Clone, Args)]
pub struct KindArgs {
    /// What to look for: `hashes`, `urls`, `domains`, `ips` (comma-separated) or `all`.
    /// Defanged forms (`hxxps://evil[.]com`) are refanged. Each URL, domain or IP address
    /// costs a request of its own.
    #[arg(long, default_value = "hashes", value_parser = parse_kinds, value_name = "KINDS")]
    pub kinds: KindList,
    /// Keep private, loopback, link-local, documentation and reserved IP addresses.
    #[arg(long)]
    pub include_private: bool,
    /// A file of domains and URL prefixes never to report (one a line, `#` comments).
    #[arg(long, value_name = "FILE")]
    pub skip: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier report (`vtsum scan --format json` or `jsonl`), or a job id of the store.
    pub old: PathBuf,
    /// The later report, or a job id.
    pub new: PathBuf,
    /// Malicious detections needed for the `malicious` verdict [default: 3].
    #[arg(long, value_name = "N")]
    pub threshold: Option<u32>,
    /// Print the changes as JSON.
    #[arg(long)]
    pub json: bool,
}

fn parse_kinds(text: &str) -> Result<KindList, String> {
    KindList::parse(text)
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct QuotaArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Count cached answers.
    Stats,
    /// Remove every cached answer (jobs and the quota ledger stay).
    Clear,
    /// Write every cached answer as JSON lines on standard output.
    Export,
    /// Read cached answers into this store: `vtsum cache export` output from any store, or
    /// VirusTotal's own JSON (`{"data": {...}}` objects, one a line or one a file; a
    /// directory takes every file in it). Imported answers count as fetched now.
    Import {
        /// Files, directories, or `-` for standard input (the default).
        #[arg(value_name = "FILE|DIR|-")]
        inputs: Vec<std::path::PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// Due re-checks of the store's watchlists run by themselves, a round a minute.
    #[command(flatten)]
    pub rechecks: watch::RecheckArgs,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "VTSUM_BIND", value_name = "ADDR")]
    pub bind: Option<String>,
    /// Require this token to use the pages and the API (Bearer).
    #[arg(
        long,
        env = "VTSUM_AUTH_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub auth_token: Option<String>,
    /// Listen on a non-loopback address without --auth-token: anyone who can reach it can
    /// read reports and spend the keys' quota.
    #[arg(long, env = "VTSUM_INSECURE_NO_AUTH")]
    pub insecure_no_auth: bool,
    /// Also answer to this host name in `Host` (besides localhost and the bound address);
    /// repeat it for several names, `*` for any.
    #[arg(
        long = "allowed-host",
        env = "VTSUM_ALLOWED_HOSTS",
        value_delimiter = ',',
        value_name = "NAME"
    )]
    pub allowed_hosts: Vec<String>,
    /// Open connections at most [default: below the open-file limit, at most 4096].
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Largest accepted upload in bytes [default: 10485760].
    #[arg(long, value_name = "BYTES")]
    pub upload_limit: Option<usize>,
    /// Requests in flight at most [default: 8].
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Malicious detections needed for the `malicious` verdict [default: 3].
    #[arg(long, value_name = "N")]
    pub threshold: Option<u32>,
    /// On a Redis store: serve pages only, and leave the jobs to `vtsum worker` processes.
    #[arg(long, env = "VTSUM_NO_WORKER")]
    pub no_worker: bool,
    #[command(flatten)]
    pub queue: QueueArgs,
    /// Let a tool use the VirusTotal-compatible endpoint (/api/v3) with TOKEN as its API
    /// key, counted under NAME; repeatable. Without any, /api/v3 answers loopback only.
    #[arg(long = "client-token", value_name = "NAME=TOKEN", value_parser = client_token)]
    pub client_tokens: Vec<vtsum_web::ClientToken>,
    /// A file of NAME=TOKEN lines, as --client-token (keeps tokens out of the process list).
    #[arg(
        long = "client-tokens",
        env = "VTSUM_CLIENT_TOKENS",
        value_name = "FILE"
    )]
    pub client_tokens_file: Option<std::path::PathBuf>,
    /// Requests to VirusTotal a client may cause per UTC day: NAME=N; repeatable. Cached
    /// files are still answered past it.
    #[arg(long = "client-cap", value_name = "NAME=N")]
    pub client_caps: Vec<String>,
    /// How long a one-hash lookup (/api/v3, /api/v1/files) waits for a free key before it
    /// answers 429 with Retry-After [default: 2min].
    #[arg(long, env = "VTSUM_PROXY_WAIT", value_name = "DURATION")]
    pub proxy_wait: Option<String>,
}

fn client_token(spec: &str) -> Result<vtsum_web::ClientToken, String> {
    vtsum_web::ClientToken::parse(spec, "--client-token").map_err(|e| e.to_string())
}

/// Settings of a queue worker (`vtsum worker`, and `vtsum serve` on a Redis store).
#[derive(Debug, Clone, Args)]
pub struct QueueArgs {
    /// How long a job part may go untouched (its worker died) before another worker takes
    /// it over [default: 15s].
    #[arg(long, env = "VTSUM_CLAIM_AFTER", value_name = "DURATION")]
    pub claim_after: Option<String>,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub rechecks: watch::RecheckArgs,
    /// Requests in flight at most [default: 8].
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    #[command(flatten)]
    pub queue: QueueArgs,
}

#[derive(Debug, Args)]
pub struct FakevtArgs {
    /// Port on 127.0.0.1 (0 picks a free one, printed on stdout).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Keys the fake accepts, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "demo-key-1,demo-key-2")]
    pub keys: Vec<String>,
    /// Per-key limits of the fake.
    #[arg(long, default_value = vtsum_core::rate::PUBLIC_API)]
    pub rate: String,
    /// Seed of the fake's corpus of known files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Number of known files in the corpus.
    #[arg(long, default_value_t = 200)]
    pub corpus_size: usize,
    /// Print the corpus's hashes (md5, sha1, sha256 per line) and exit.
    #[arg(long)]
    pub list: bool,
}
