//! The `fulcrum` command line: run, check, demo, explain, schema, completions, man (SPEC §1).

use anyhow::{Context, Result};
use clap::{CommandFactory, Parser, Subcommand};
use fulcrum::config::{self, Config};
use fulcrum::explain::{explain, Described};
use fulcrum::server::Server;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "fulcrum", version, about = "An HTTP layer-7 load balancer")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve with the config until SIGTERM/SIGINT.
    Run {
        #[arg(short, long, default_value = "config.yaml")]
        config: PathBuf,
    },
    /// Validate the config and print a summary (exit 0 valid, 1 invalid).
    Check {
        #[arg(short, long, default_value = "config.yaml")]
        config: PathBuf,
        /// Also print every change from OLD_FILE as a plan, and per hash upstream the keys that move.
        #[arg(long)]
        diff: Option<PathBuf>,
        /// Print the config in force with every default filled in (YAML), instead of the summary.
        #[arg(long, conflicts_with = "diff")]
        effective: bool,
    },
    /// Print the JSON Schema (draft 2020-12) of the config file.
    Schema {
        /// Print the README's config reference table (Markdown) instead.
        #[arg(long)]
        markdown: bool,
    },
    /// Start demo backends and serve the config against them.
    Demo {
        #[arg(short, long, default_value = "config.yaml")]
        config: PathBuf,
    },
    /// Print which route, upstream and server a request would reach, and why.
    Explain {
        #[arg(short, long, default_value = "config.yaml")]
        config: PathBuf,
        #[arg(long, default_value = "GET")]
        method: String,
        #[arg(long)]
        host: Option<String>,
        /// NAME=VALUE, repeatable.
        #[arg(long)]
        header: Vec<String>,
        /// NAME=VALUE, repeatable.
        #[arg(long)]
        cookie: Vec<String>,
        #[arg(long, default_value = "127.0.0.1")]
        client_ip: IpAddr,
        /// The request path, with optional query.
        path: String,
    },
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff).
    Man,
}

/// jemalloc: its thread cache serves the 8 KiB read buffers hyper takes for
/// every request on both sides, which glibc serves from its slow path (4.7%
/// fewer instructions per proxied request, measured with callgrind; see
/// docs/benchmarks.md); `server::trim` purges it for parked connections.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read before `main`: a thread cache of at least 1,024
/// objects per small size class (20 by default, the most 2,048), 256 per
/// cached large one (16 and 32 KiB; 20 by default), and its garbage
/// collection every 64 MiB allocated (64 KiB by default). With 1,000 busy
/// connections, each request's two 8 KiB read buffers live as long as the
/// request, and they are taken and freed in bursts of hundreds (one event
/// loop turn): the default cache ran dry and overflowed on every burst, and
/// each refill took whole slabs from the arena. These options cut the
/// instructions per proxied request by 14.5% at 1,000 connections (callgrind,
/// rr: 45,582 -> 38,950), 9.0% at 50 (38,742 -> 35,254) and none at 10
/// (35,965 -> 35,889). The garbage collector, which hands back what a
/// bin did not use since its last pass, then only churned the bins under
/// bursty load: every 64 MiB instead of every 1 MiB took 1,000 connections
/// from 39,313 to 38,647 (means of 3 and 4 runs, each spanning 1,000) and
/// 50 from 35,482 to 35,094 (10: 35,795 -> 35,850, noise). What the larger
/// cache holds when connections go quiet is flushed by `server::trim`.
/// `_RJEM_MALLOC_CONF` in the environment still overrides each option.
#[cfg(feature = "jemalloc")]
#[allow(non_upper_case_globals, unsafe_code)]
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: Option<&'static std::ffi::c_char> = Some(
    // SAFETY: a pointer to the first byte of a static NUL-terminated string
    unsafe {
        &*c"tcache_nslots_small_min:1024,tcache_nslots_small_max:2048,tcache_nslots_large:256,tcache_gc_incr_bytes:67108864"
            .as_ptr()
    },
);

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run { config } => load(&config).and_then(|c| serve(c, config, false)),
        Command::Demo { config } => load(&config).and_then(|c| serve(c, config, true)),
        Command::Check {
            config,
            effective: true,
            ..
        } => effective(&config),
        Command::Check { config, diff, .. } => check(&config, diff.as_deref()),
        Command::Schema { markdown } => {
            print!(
                "{}",
                if markdown {
                    fulcrum::reference::markdown()
                } else {
                    fulcrum::reference::schema()
                }
            );
            Ok(())
        }
        Command::Explain {
            config,
            method,
            host,
            header,
            cookie,
            client_ip,
            path,
        } => load(&config).and_then(|c| {
            describe(method, host, &header, &cookie, client_ip, &path).map(|d| print!("{}", explain(&c, &d)))
        }),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "fulcrum", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => clap_mangen::Man::new(Cli::command())
            .render(&mut std::io::stdout())
            .context("writing the man page"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load(path: &Path) -> Result<Config> {
    config::load(path).map_err(|e| match e {
        // "cannot read PATH: CAUSE" already says it all, once
        config::ConfigError::Io { .. } => anyhow::anyhow!("{e}"),
        invalid => anyhow::anyhow!("invalid config {}: {invalid}", path.display()),
    })
}

fn effective(path: &Path) -> Result<()> {
    let config = load(path)?;
    let source = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let text = fulcrum::reference::effective(&source, &config).map_err(anyhow::Error::msg)?;
    print!("{text}");
    Ok(())
}

fn check(path: &Path, diff: Option<&Path>) -> Result<()> {
    let config = load(path)?;
    print!("{}", fulcrum::check::summary(&config));
    for w in fulcrum::check::warnings(&config) {
        eprintln!("{w}");
    }
    if !fulcrum::discovery::names(&config).is_empty() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        for w in rt.block_on(fulcrum::check::dns_warnings(&config)) {
            eprintln!("{w}");
        }
    }
    if let Some(old) = diff {
        let old = load(old)?;
        let plan = fulcrum::plan::changes(&old, &config);
        match plan.len() {
            0 => println!("plan: no changes"),
            n => println!("plan ({n} change{}):", if n == 1 { "" } else { "s" }),
        }
        for line in plan {
            println!("  {line}");
        }
        print!("{}", fulcrum::diff::diff(&old, &config));
    }
    Ok(())
}

fn describe(
    method: String,
    host: Option<String>,
    headers: &[String],
    cookies: &[String],
    client_ip: IpAddr,
    path: &str,
) -> Result<Described> {
    let mut map = HeaderMap::new();
    for h in headers {
        let (name, value) = h
            .split_once('=')
            .with_context(|| format!("--header {h}: expected NAME=VALUE"))?;
        map.append(HeaderName::try_from(name)?, HeaderValue::try_from(value)?);
    }
    if !cookies.is_empty() {
        map.insert(http::header::COOKIE, HeaderValue::try_from(cookies.join("; "))?);
    }
    if let Some(host) = host {
        map.insert(http::header::HOST, HeaderValue::try_from(host)?);
    }
    Ok(Described {
        method: Method::from_bytes(method.to_ascii_uppercase().as_bytes())?,
        uri: path.parse().with_context(|| format!("{path}: not a request path"))?,
        headers: map,
        client_ip,
    })
}

fn serve(config: Config, path: PathBuf, demo: bool) -> Result<()> {
    // accepting, reloads, probes and the admin API run here; requests run
    // here too with `workers: 1`, else on per-core worker threads (`workers`)
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        if demo {
            for (name, addr) in fulcrum::demo::spawn_backends(&config)
                .await
                .context("starting demo backends")?
            {
                eprintln!("demo backend {name} on {addr}");
            }
        }
        let server = Server::bind(&config, Some(path)).await?;
        if demo {
            if let Some(addr) = server.local_addrs().first() {
                eprintln!("{}", fulcrum::demo::curl_examples(*addr));
            }
            if let Some(admin) = server.admin_addr() {
                eprintln!("{}", fulcrum::demo::admin_urls(admin));
            }
        }
        tokio::spawn(reload_on_sighup(server.handle()));
        tokio::spawn(reopen_on_sigusr1(server.handle()));
        server.serve(shutdown_signal()).await;
        Ok(())
    })
}

/// Reloads the config on every SIGHUP (errors are logged and counted by the reload).
async fn reload_on_sighup(handle: fulcrum::server::Handle) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup = signal(SignalKind::hangup()).expect("SIGHUP handler");
    while hup.recv().await.is_some() {
        tracing::info!("SIGHUP: reloading");
        let _ = handle.reload().await;
    }
}

/// Reopens the access log file on every SIGUSR1 (log rotation).
async fn reopen_on_sigusr1(handle: fulcrum::server::Handle) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut usr1 = signal(SignalKind::user_defined1()).expect("SIGUSR1 handler");
    while usr1.recv().await.is_some() {
        tracing::info!("SIGUSR1: reopening the access log");
        handle.reopen_logs();
    }
}

/// Completes on the first SIGTERM or SIGINT; a second one exits at once.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::warn!("second signal: exiting now");
        std::process::exit(130);
    });
}
