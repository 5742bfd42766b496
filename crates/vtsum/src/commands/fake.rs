//! `vtsum fakevt`: the fake VirusTotal as a stand-alone server, for benchmarks, demos and
//! multi-process tests. It prints its base URL on standard output once it listens.

use anyhow::{Context, Result};

use crate::cli::FakevtArgs;
use crate::demo::fake_config;
use crate::exit::Exit;
use crate::output::print_all;

/// Runs the fake until Ctrl-C or SIGTERM.
pub async fn run(args: FakevtArgs) -> Result<Exit> {
    let mut config = fake_config(&args.keys, &args.rate, args.seed, args.corpus_size)?;
    if args.list {
        let corpus = fakevt::Corpus::generate(args.seed, args.corpus_size);
        let text: String = corpus
            .files()
            .iter()
            .map(|f| format!("{} {} {}\n", f.md5, f.sha1, f.sha256))
            .collect();
        // `vtsum fakevt --list | head -1` closes the pipe early: that is not an error.
        return print_all(text.as_bytes());
    }
    config.addr = ([127, 0, 0, 1], args.port).into();
    let server = fakevt::spawn(config)
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
    print_all(format!("{}\n", server.url()).as_bytes())?;
    crate::shutdown_signal().await;
    server.shutdown().await;
    Ok(Exit::Ok)
}
