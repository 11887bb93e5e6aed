//! The container image, checked as far as a machine without a Docker
//! engine allows: the Dockerfile parses (instructions, continuations,
//! stages, exec-form JSON); its build stage copies every path the build
//! reads; its final stage is small (distroless), non-root, holds the binary
//! and is what `deploy/deployment.yaml` runs: the same image name as the
//! README's build command, an entrypoint that is the copied binary, the
//! same user and port, and arguments the binary accepts.
//!
//! Not checked here (no engine, no registry): that the image builds, that
//! the base images exist, and what files they hold (distroless cc ships
//! CA certificates and libssl, per its documentation).

use clap::Parser;
use serde_json::Value;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One instruction: keyword and its arguments (continuations joined).
#[derive(Debug, Clone)]
struct Instruction {
    line: usize,
    keyword: String,
    args: String,
}

const KEYWORDS: &[&str] = &[
    "FROM",
    "RUN",
    "COPY",
    "ADD",
    "WORKDIR",
    "USER",
    "EXPOSE",
    "ENTRYPOINT",
    "CMD",
    "ENV",
    "ARG",
    "LABEL",
    "HEALTHCHECK",
    "STOPSIGNAL",
    "VOLUME",
    "SHELL",
    "ONBUILD",
];

fn parse(text: &str) -> Result<Vec<Instruction>, String> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if pending.is_none() && (line.is_empty() || line.starts_with('#')) {
            continue;
        }
        let (start, mut acc) = pending.take().unwrap_or((i + 1, String::new()));
        if line.starts_with('#') {
            pending = Some((start, acc));
            continue;
        }
        let (body, continues) = match line.strip_suffix('\\') {
            Some(b) => (b.trim_end(), true),
            None => (line, false),
        };
        if !acc.is_empty() {
            acc.push(' ');
        }
        acc.push_str(body);
        if continues {
            pending = Some((start, acc));
            continue;
        }
        let (keyword, args) = acc.split_once(' ').unwrap_or((acc.as_str(), ""));
        if !KEYWORDS.contains(&keyword) {
            return Err(format!("line {start}: unknown instruction {keyword:?}"));
        }
        if args.trim().is_empty() {
            return Err(format!("line {start}: {keyword} without arguments"));
        }
        out.push(Instruction {
            line: start,
            keyword: keyword.to_string(),
            args: args.trim().to_string(),
        });
    }
    if let Some((start, _)) = pending {
        return Err(format!("line {start}: continuation runs past the end"));
    }
    if out.first().map(|i| i.keyword.as_str()) != Some("FROM") {
        return Err("the first instruction must be FROM".into());
    }
    Ok(out)
}

/// Exec form (`["a", "b"]`), as JSON.
fn exec_form(i: &Instruction) -> Vec<String> {
    let v: Value = serde_json::from_str(&i.args)
        .unwrap_or_else(|e| panic!("line {}: {} is not exec-form JSON: {e}", i.line, i.keyword));
    v.as_array()
        .unwrap_or_else(|| panic!("line {}: not a JSON array", i.line))
        .iter()
        .map(|s| s.as_str().expect("strings").to_string())
        .collect()
}

fn stages(all: &[Instruction]) -> Vec<Vec<Instruction>> {
    let mut out: Vec<Vec<Instruction>> = Vec::new();
    for i in all {
        if i.keyword == "FROM" {
            out.push(Vec::new());
        }
        out.last_mut().expect("FROM first").push(i.clone());
    }
    out
}

#[test]
fn the_parser_refuses_broken_dockerfiles() {
    assert!(parse("RUN true\n").is_err(), "must start with FROM");
    assert!(parse("FROM a\nRUNN true\n").is_err(), "typo");
    assert!(
        parse("FROM a\nRUN a \\\n").is_err(),
        "dangling continuation"
    );
    assert!(parse("FROM a\nUSER\n").is_err(), "no arguments");
    let ok = parse("FROM a AS b\n# c\nRUN x \\\n  # inside\n  && y\n").unwrap();
    assert_eq!(ok[1].args, "x && y");
}

#[test]
fn the_final_stage_is_what_deploy_runs() {
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).expect("Dockerfile");
    let all = parse(&dockerfile).unwrap_or_else(|e| panic!("Dockerfile: {e}"));
    let stages = stages(&all);
    assert_eq!(stages.len(), 2, "multi-stage: build, then runtime");
    let (build, run) = (&stages[0], &stages[1]);

    // Build stage: named, a Rust at least the crate's rust-version, and it
    // copies every path the build reads.
    let from = &build[0].args;
    let (image, name) = from.split_once(" AS ").expect("FROM … AS build");
    assert_eq!(name, "build");
    let manifest: toml_lite::Manifest = toml_lite::read(&root().join("Cargo.toml"));
    let rust = image
        .strip_prefix("rust:")
        .and_then(|t| t.split('-').next())
        .expect("rust:<version>-… image");
    assert!(
        version_at_least(rust, &manifest.rust_version),
        "{rust} < {}",
        manifest.rust_version
    );
    let copied: Vec<&str> = build
        .iter()
        .filter(|i| i.keyword == "COPY")
        .flat_map(|i| {
            let parts: Vec<&str> = i.args.split_whitespace().collect();
            parts[..parts.len() - 1].to_vec()
        })
        .collect();
    let mut needed: Vec<String> = ["Cargo.toml", "Cargo.lock", "src"]
        .map(String::from)
        .to_vec();
    needed.extend(manifest.bench_dirs.clone());
    needed.extend(include_roots());
    assert!(
        needed.contains(&"policies".to_string()),
        "include_str! roots found"
    );
    for n in &needed {
        assert!(
            copied.contains(&n.as_str()),
            "the build stage does not COPY {n}: {copied:?}"
        );
    }
    assert!(
        build
            .iter()
            .any(|i| i.keyword == "RUN" && i.args.contains("cargo build --release --locked")),
        "release build from the lock file"
    );

    // Runtime stage: distroless non-root, only the binary.
    assert!(
        run[0]
            .args
            .starts_with("gcr.io/distroless/cc-debian12:nonroot"),
        "{}",
        run[0].args
    );
    let copies: Vec<&Instruction> = run.iter().filter(|i| i.keyword == "COPY").collect();
    assert_eq!(copies.len(), 1, "only the binary goes into the final image");
    let parts: Vec<&str> = copies[0].args.split_whitespace().collect();
    assert_eq!(parts[0], "--from=build");
    assert_eq!(parts[1], "/src/target/release/tranche");
    let binary = parts[2];
    let entry = exec_form(
        run.iter()
            .find(|i| i.keyword == "ENTRYPOINT")
            .expect("ENTRYPOINT"),
    );
    assert_eq!(
        entry,
        vec![binary.to_string()],
        "the entrypoint is the copied binary"
    );
    let user = &run.iter().find(|i| i.keyword == "USER").expect("USER").args;
    let uid: u32 = user
        .split(':')
        .next()
        .unwrap()
        .parse()
        .expect("numeric USER");
    assert_ne!(uid, 0, "non-root");
    let exposed = &run
        .iter()
        .find(|i| i.keyword == "EXPOSE")
        .expect("EXPOSE")
        .args;
    let cmd = exec_form(run.iter().find(|i| i.keyword == "CMD").expect("CMD"));
    assert_parses(&cmd, "CMD");

    // deploy/deployment.yaml runs that image, as that user, on that port.
    let text = std::fs::read_to_string(root().join("deploy/deployment.yaml")).unwrap();
    let deployment: Value = tranche::yaml::from_str(&text).unwrap();
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let image_name = container["image"].as_str().unwrap();
    assert_eq!(
        image_name,
        format!("ghcr.io/tranche-dev/tranche:{}", manifest.version)
    );
    assert_eq!(pod["securityContext"]["runAsUser"], uid);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(container["ports"][0]["containerPort"].to_string(), *exposed);
    assert!(
        container.get("command").is_none(),
        "the entrypoint stays the binary"
    );
    let args: Vec<String> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert_parses(&args, "deploy/deployment.yaml args");

    // The README tells users to build and push exactly that name.
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("docker build -t {image_name} .")),
        "README build command for {image_name}"
    );
    assert!(readme.contains(&format!("docker push {image_name}")));
    let header = dockerfile.lines().next().unwrap_or_default();
    assert!(
        header.contains(&format!("docker build -t {image_name} .")),
        "{header}"
    );
}

/// The binary's own argument parser accepts `args` (clap, the same `Cli`).
fn assert_parses(args: &[String], what: &str) {
    let argv = std::iter::once("tranche".to_string()).chain(args.iter().cloned());
    if let Err(e) = tranche::cli::Cli::try_parse_from(argv) {
        panic!("{what} {args:?} is refused by tranche: {e}");
    }
}

/// Top-level directories that `include_str!` reads from outside `src/`.
fn include_roots() -> Vec<String> {
    let mut out = std::collections::BTreeSet::new();
    let mut stack = vec![root().join("src")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for part in text.split("include_str!(\"").skip(1) {
                let rel = part.split('"').next().unwrap();
                let target = path.parent().unwrap().join(rel);
                let target = std::fs::canonicalize(&target).unwrap_or(target);
                let inside = target.strip_prefix(std::fs::canonicalize(root()).unwrap());
                if let Ok(inside) = inside {
                    let top = inside.components().next().unwrap();
                    let top = top.as_os_str().to_string_lossy().to_string();
                    if top != "src" {
                        out.insert(top);
                    }
                }
            }
        }
    }
    out.into_iter().collect()
}

fn version_at_least(have: &str, want: &str) -> bool {
    let parse = |s: &str| -> Vec<u32> { s.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    parse(have) >= parse(want)
}

/// The few `Cargo.toml` facts the check needs, read line by line.
mod toml_lite {
    use std::path::Path;

    pub struct Manifest {
        pub version: String,
        pub rust_version: String,
        pub bench_dirs: Vec<String>,
    }

    pub fn read(path: &Path) -> Manifest {
        let text = std::fs::read_to_string(path).unwrap();
        let value = |key: &str| {
            text.lines()
                .find_map(|l| {
                    l.strip_prefix(key)?
                        .trim()
                        .strip_prefix('=')?
                        .trim()
                        .strip_prefix('"')?
                        .strip_suffix('"')
                        .map(str::to_string)
                })
                .unwrap_or_else(|| panic!("no {key} in Cargo.toml"))
        };
        let benches = text.contains("[[bench]]");
        Manifest {
            version: value("version"),
            rust_version: value("rust-version"),
            bench_dirs: if benches {
                vec!["benches".into()]
            } else {
                vec![]
            },
        }
    }
}
