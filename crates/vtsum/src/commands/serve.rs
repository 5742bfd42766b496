//! `vtsum serve`: the web app, on the same engine, store and settings as `vtsum scan`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use vtsum_core::engine::{Cancel, Engine};
use vtsum_store as store;
use vtsum_web::{server, App, WebConfig, DEFAULT_UPLOAD_LIMIT};

use crate::cli::{GlobalArgs, ServeArgs};
use crate::demo;
use crate::exit::{bad_input, Exit};
use crate::settings::{claim_after, default_db_path, engine_config, FileConfig, Tuning};

/// How long a stopping server waits for the running job's requests in flight.
const DRAIN: Duration = Duration::from_secs(30);

/// Runs the web server until Ctrl-C or SIGTERM.
pub async fn run(global: &GlobalArgs, args: ServeArgs) -> Result<Exit> {
    let file = FileConfig::load(global)?;
    let bind = args
        .bind
        .clone()
        .or(file.serve.bind.clone())
        .unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let addr: SocketAddr = bind
        .parse()
        .with_context(|| format!("--bind {bind:?} is not an address such as 127.0.0.1:8080"))?;
    let auth_token = args.auth_token.clone().filter(|t| !t.trim().is_empty());
    if !addr.ip().is_loopback() && auth_token.is_none() {
        if !args.insecure_no_auth {
            crate::output::say(&format!(
                "vtsum: refusing to listen on {addr} without --auth-token: anyone who can reach \
                 this address could read reports and spend your keys' quota. Set --auth-token \
                 (or VTSUM_AUTH_TOKEN), bind 127.0.0.1, or pass --insecure-no-auth if a proxy \
                 in front guards it"
            ));
            return Ok(Exit::Usage);
        }
        crate::output::say(&format!(
            "vtsum: warning: listening on {addr} without --auth-token (--insecure-no-auth): \
             anyone who can reach this address can read reports and spend your keys' quota"
        ));
    }
    let mut api = args.api.clone();
    let (_demo, store_url) = demo::resolve(global, &file, &mut api).await?;
    let store = store::open(&store_url, &default_db_path("vtsum.db"))?;
    let tuning = Tuning {
        concurrency: args.concurrency,
        ..Tuning::default()
    };
    let cfg = engine_config(&api, &file, &tuning)?;
    let engine = if cfg.keys.is_empty() {
        crate::output::say("vtsum: no VirusTotal API key configured: the pages say how to add one (VT_API_KEY=k1,k2)");
        None
    } else {
        Some(Arc::new(Engine::new(cfg, store.clone())?))
    };
    let stop_rechecks = Cancel::new();
    if let Some(engine) = &engine {
        super::recheck::start_beside(&args.rechecks, engine, stop_rechecks.clone())?;
    }
    let limits = server::Limits {
        max_connections: args
            .max_connections
            .unwrap_or_else(server::default_max_connections),
        ..server::Limits::default()
    };
    if limits.max_connections == 0 {
        crate::output::say("vtsum: --max-connections must be at least 1");
        return Ok(Exit::Usage);
    }
    let config = WebConfig {
        auth_token,
        upload_limit: args
            .upload_limit
            .or(file.serve.upload_limit)
            .unwrap_or(DEFAULT_UPLOAD_LIMIT),
        threshold: crate::settings::threshold(args.threshold, &file)?,
        no_worker: args.no_worker,
        claim_after: Some(claim_after(&args.queue)?),
        bind: Some(addr),
        allowed_hosts: args
            .allowed_hosts
            .iter()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .collect(),
        session_ttl: None,
        proxy_wait: Some(crate::settings::proxy_wait(args.proxy_wait.as_deref())?),
        clients: client_tokens(&args)?,
        skip: super::extract::skip_list(file.skip.as_deref())?,
    };
    let app = App::start(engine, store, config)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (in use? try --bind 127.0.0.1:8081)"))?;
    let local = listener.local_addr()?;
    if !global.quiet {
        crate::output::say(&format!(
            "vtsum: serving on http://{local} (Ctrl-C stops; jobs resume on the next start)"
        ));
    }
    let stopping = app.clone();
    server::serve(
        listener,
        vtsum_web::router(app.clone()),
        limits,
        async move {
            crate::shutdown_signal().await;
            stop_rechecks.cancel();
            stopping.shutdown();
        },
    )
    .await
    .context("the web server stopped")?;
    if tokio::time::timeout(DRAIN, app.stopped()).await.is_err() {
        crate::output::say(
            "vtsum: the running job did not stop in time; it resumes on the next start",
        );
    }
    Ok(Exit::Ok)
}

/// The client tokens of `--client-token`, `--client-tokens FILE` and `--client-cap`.
fn client_tokens(args: &ServeArgs) -> Result<Vec<vtsum_web::ClientToken>> {
    let mut clients = args.client_tokens.clone();
    if let Some(path) = &args.client_tokens_file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            bad_input(format!(
                "cannot read --client-tokens {}: {e}",
                path.display()
            ))
        })?;
        let name = path.display().to_string();
        clients.extend(
            vtsum_web::ClientToken::parse_file(&text, &name)
                .map_err(|e| bad_input(e.to_string()))?,
        );
    }
    vtsum_web::ClientToken::finish(clients, &args.client_caps).map_err(|e| bad_input(e.to_string()))
}
