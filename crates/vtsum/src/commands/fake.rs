//! `vtsum fakevt`: the fake VirusTotal as a stand-alone server, for benchmarks, demos and
//! multi-process tests. It prints its base URL on standard output once it listens.

use anyhow::{Context, Result};

use crate::cli::FakevtArgs;
use crate::demo::fake_config;
use crate::exit::Exit;

/// Runs the fake until Ctrl-C or SIGTERM.
pub async fn run(args: FakevtArgs) -> Result<Exit> {
    let mut config = fake_config(&args.keys, &args.rate, args.seed, args.corpus_size)?;
    if args.list {
        let corpus = fakevt::Corpus::generate(args.seed, args.corpus_size);
        for f in corpus.files() {
            println!("{} {} {}", f.md5, f.sha1, f.sha256);
        }
        return Ok(Exit::Ok);
    }
    config.addr = ([127, 0, 0, 1], args.port).into();
    let server = fakevt::spawn(config)
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
    println!("{}", server.url());
    crate::shutdown_signal().await;
    server.shutdown().await;
    Ok(Exit::Ok)
}
