//! Command-line interface: argument shapes (clap) and the glue from a
//! command to the library. anyhow lives here and in `main`, nowhere else.

mod apply;
mod control;
mod migrate;
mod plan;
mod progress;
mod render;
mod run;
mod schema;
mod status;
mod style;
mod targets;
mod validate;
mod weights;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

pub use targets::TargetArgs;

/// tranche: GitOps for fleets of Kubernetes clusters — staged 1:2:7
/// rollouts with health gates and commit-based rollback.
#[derive(Debug, Parser)]
#[command(name = "tranche", version, about, propagate_version = true)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human, env = "TRANCHE_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// Log filter (tracing EnvFilter syntax), e.g. `tranche=debug`.
    #[arg(long, global = true, default_value = DEFAULT_LOG, env = "TRANCHE_LOG")]
    pub log: String,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Default log filter. kube-rs logs every failed HTTP request at ERROR
/// level (`failed with error client error (SendRequest)`), retries
/// included; tranche reports each failure itself, classified and naming
/// the cluster and object, so those lines are off unless asked for.
pub const DEFAULT_LOG: &str = "tranche=info,kube_client=off,warn";

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

/// Output format of every command that prints a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    /// Readable text (colored on a terminal).
    #[default]
    Text,
    /// Machine-readable JSON on stdout.
    Json,
}

/// The repository and revision every command reads.
#[derive(Debug, Clone, Args)]
pub struct RepoArgs {
    /// Fleet directory: the root of a git repository or a directory inside one.
    #[arg(value_name = "REPO")]
    pub repo: PathBuf,
    /// Revision to read (branch, tag, sha, HEAD~n); default HEAD.
    #[arg(long, default_value = "HEAD")]
    pub rev: String,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a revision: exit 0 if valid, 1 with `path: message` lines if not.
    Validate {
        #[command(flatten)]
        repo: RepoArgs,
        /// Output format (json: the verdict and every problem on stdout).
        #[arg(long, short, value_enum, default_value_t)]
        output: OutputFormat,
    },
    /// Write `<out>/<cluster>/<app>.yaml` for every cluster.
    Render {
        #[command(flatten)]
        repo: RepoArgs,
        /// Output directory (created; existing cluster dirs are replaced).
        #[arg(long)]
        out: PathBuf,
        /// Output format (json: the files written, per cluster).
        #[arg(long, short, value_enum, default_value_t)]
        output: OutputFormat,
    },
    /// Show what applying a revision would change (exit 0 none, 3 changes, 1 error).
    Plan {
        #[command(flatten)]
        repo: RepoArgs,
        #[command(flatten)]
        targets: TargetArgs,
        /// Output format.
        #[arg(long, short, value_enum, default_value_t)]
        output: OutputFormat,
    },
    /// Roll a revision out in staged batches (exit 0 done, 1 failed, 2 error before any change).
    Apply {
        #[command(flatten)]
        repo: RepoArgs,
        #[command(flatten)]
        targets: TargetArgs,
        /// Directory of the durable rollout state (resumed after a crash).
        #[arg(long, default_value = crate::daemon::config::DEFAULT_STATE_DIR, env = "TRANCHE_STATE_DIR")]
        state_dir: PathBuf,
        /// Output format (json: the final report on stdout).
        #[arg(long, short, value_enum, default_value_t)]
        output: OutputFormat,
    },
    /// Run the daemon: watch git, roll out each commit, report on it.
    Run(run::RunArgs),
    /// Approve, pause, resume or abort the daemon's rollout in flight
    /// (its control API; exit 0 done, 1 refused, 2 cannot ask).
    Rollout(control::RolloutArgs),
    /// Show the rollout state kept in a state directory.
    Status {
        /// State directory.
        #[arg(long, default_value = crate::daemon::config::DEFAULT_STATE_DIR, env = "TRANCHE_STATE_DIR")]
        state_dir: PathBuf,
        /// Output format.
        #[arg(long, short, value_enum, default_value_t)]
        output: OutputFormat,
        /// Same as `-o json` (kept for scripts written before `-o`).
        #[arg(long, hide = true)]
        json: bool,
    },
    /// Advance an app's `spec.migration` by one step, as a commit on the
    /// current branch (exit 0 committed, 1 refused: dirty work tree, no
    /// migration, last step reached, invalid fleet).
    Migrate {
        /// Fleet directory: the work tree of a git repository or a directory inside one.
        #[arg(long, default_value = ".")]
        repo: PathBuf,
        /// The app whose migration moves on.
        app: String,
        /// Write the next step (what `migrate` does anyway; for readable scripts).
        #[arg(long)]
        next: bool,
    },
    /// Print the JSON Schema of a file kind (all kinds when none is given),
    /// or write every schema into a directory.
    Schema {
        /// Cluster, Placement, Override, RolloutPolicy, DiffPolicy,
        /// AccessPolicy or Repository (any case); none: any kind.
        kind: Option<String>,
        /// Write every schema file into this directory instead.
        #[arg(long, conflicts_with = "kind")]
        out: Option<PathBuf>,
    },
}

/// Installs the tracing subscriber on stderr.
pub fn init_logging(cli: &Cli) {
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let _ = match cli.log_format {
        LogFormat::Human => builder.with_target(false).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Runs a command and returns the process exit code.
pub async fn run(cli: Cli) -> anyhow::Result<u8> {
    crate::cluster::connect::install_crypto_provider();
    match cli.command {
        Command::Validate { repo, output } => errors_exit(validate::run(&repo, output), 1),
        Command::Render { repo, out, output } => render::run(&repo, &out, output),
        Command::Plan {
            repo,
            targets,
            output,
        } => errors_exit(plan::run(&repo, &targets, output).await, 1),
        Command::Apply {
            repo,
            targets,
            state_dir,
            output,
        } => apply::run(&repo, &targets, &state_dir, output).await,
        Command::Run(args) => run::run(&args).await,
        Command::Rollout(args) => control::run(&args).await,
        Command::Status {
            state_dir,
            output,
            json,
        } => {
            let json = json || output == OutputFormat::Json;
            status::run(&state_dir, json)
        }
        Command::Schema { kind, out } => schema::run(kind.as_deref(), out.as_deref()),
        Command::Migrate { repo, app, .. } => errors_exit(migrate::run(&repo, &app), 1),
    }
}

/// Reports an error on stderr and turns it into `code` (commands whose
/// documented exit codes leave no room for a separate "error" code).
fn errors_exit(result: anyhow::Result<u8>, code: u8) -> anyhow::Result<u8> {
    result.or_else(|e| {
        eprintln!("error: {e:#}");
        Ok(code)
    })
}

/// Whether a closed pipe may end the command at once (SIGPIPE's default
/// action): only commands that talk to no cluster. For the others, a write
/// to a connection an apiserver reset raises SIGPIPE too, which must be an
/// error the rollout handles, not a silent death in the middle of it
/// (issue 10: `tranche apply` ended mid-rollout, clusters left on the bad
/// commit); they end quietly on a closed stdout instead ([`write_out`]).
pub fn dies_on_sigpipe(cli: &Cli) -> bool {
    matches!(
        cli.command,
        Command::Validate { .. }
            | Command::Render { .. }
            | Command::Status { .. }
            | Command::Schema { .. }
            | Command::Migrate { .. }
    )
}

/// Writes `text` to stdout. A reader that went away (`| head`) is not an
/// error: the output simply ends.
pub(crate) fn write_out(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writes one line to stderr; never fails (a rollout must not stop
/// because nobody reads its progress).
pub(crate) fn write_err(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
