//! `pitlane-cloud`: serve the sync endpoint, migrate its database, manage devices.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use pitlane_cloud::batch::Identity;
use pitlane_cloud::store;

#[derive(Parser)]
#[command(name = "pitlane-cloud", about = "Pitlane's cloud endpoint over PostgreSQL (docs/SYNC.md)")]
struct Args {
    /// postgres://user@host:port/database
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate, then serve HTTP.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// The most database connections this process holds.
        #[arg(long, default_value_t = 10)]
        max_connections: u32,
    },
    /// Bring the database schema up to date.
    Migrate,
    /// Register, revoke and list devices.
    Device {
        #[command(subcommand)]
        command: DeviceCommand,
    },
}

#[derive(Subcommand)]
enum DeviceCommand {
    /// Register a device; prints its new token (only here, only once).
    Add {
        #[arg(long)]
        device_id: String,
        #[arg(long)]
        tenant_id: String,
        #[arg(long)]
        branch_id: String,
        #[arg(long, default_value = "")]
        name: String,
    },
    /// Refuse a device's token from now on; its events stay.
    Revoke {
        #[arg(long)]
        device_id: String,
    },
    /// Every device, as JSON lines.
    List,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let Some(url) = args.database_url.clone() else {
        eprintln!("pitlane-cloud: --database-url (or DATABASE_URL) is required");
        return ExitCode::from(2);
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match runtime.block_on(run(args.command, &url)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("pitlane-cloud: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, url: &str) -> Result<(), String> {
    let max = match &command {
        Command::Serve { max_connections, .. } => *max_connections,
        _ => 2,
    };
    let pool = store::connect(url, max).await.map_err(|e| e.to_string())?;
    match command {
        Command::Serve { listen, .. } => {
            store::migrate(&pool).await.map_err(|e| format!("migrate: {e}"))?;
            let listener =
                tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("listen on {listen}: {e}"))?;
            tracing::info!(%listen, "pitlane-cloud serving");
            axum::serve(listener, pitlane_cloud::http::router(pool))
                .with_graceful_shutdown(shutdown())
                .await
                .map_err(|e| e.to_string())
        }
        Command::Migrate => store::migrate(&pool).await.map_err(|e| format!("migrate: {e}")),
        Command::Device { command } => {
            store::migrate(&pool).await.map_err(|e| format!("migrate: {e}"))?;
            match command {
                DeviceCommand::Add { device_id, tenant_id, branch_id, name } => {
                    let who = Identity { device_id, tenant_id, branch_id };
                    let token = store::add_device(&pool, &who, &name).await.map_err(|e| e.to_string())?;
                    println!("{token}");
                    Ok(())
                }
                DeviceCommand::Revoke { device_id } => match store::revoke_device(&pool, &device_id).await {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(format!("no device {device_id}")),
                    Err(e) => Err(e.to_string()),
                },
                DeviceCommand::List => {
                    for device in store::devices(&pool, None).await.map_err(|e| e.to_string())? {
                        println!("{device}");
                    }
                    Ok(())
                }
            }
        }
    }
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
}
