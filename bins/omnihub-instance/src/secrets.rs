//! Secrets for `add` and `update` from where shell history and the process list cannot see
//! them: a file, standard input (`-`) or the environment, besides the plain flag.

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context};

use crate::OptionalArgs;

/// The secrets given, whichever way: `None` when not given at all.
#[derive(Debug, Default)]
pub struct SecretValues {
    /// The agent API key.
    pub agent_api_key: Option<String>,
    /// The Evolution API key (empty: remove it).
    pub evolution_key: Option<String>,
    /// The webhook secret (empty: remove it).
    pub webhook_secret: Option<String>,
}

impl SecretValues {
    /// Resolves each secret from its flag (or environment variable, which clap reads into
    /// the flag) or its `--…-file`. At most one file may be standard input.
    pub fn read(args: &OptionalArgs, agent_api_key: Option<String>) -> anyhow::Result<Self> {
        let files = [
            ("--agent-api-key-file", &args.agent_api_key_file),
            ("--evolution-key-file", &args.evolution_key_file),
            ("--webhook-secret-file", &args.webhook_secret_file),
        ];
        let from_stdin = files
            .iter()
            .filter(|(_, path)| path.as_deref().is_some_and(|p| p == Path::new("-")))
            .count();
        if from_stdin > 1 {
            bail!("only one secret can be read from standard input ('-'); give the others as files");
        }
        let read = |flag: &str, path: &Option<std::path::PathBuf>| -> anyhow::Result<Option<String>> {
            path.as_deref().map(|path| read_secret(flag, path)).transpose()
        };
        Ok(Self {
            agent_api_key: read(files[0].0, files[0].1)?.or(agent_api_key),
            evolution_key: read(files[1].0, files[1].1)?.or_else(|| args.evolution_key.clone()),
            webhook_secret: read(files[2].0, files[2].1)?.or_else(|| args.webhook_secret.clone()),
        })
    }
}

/// The secret in `path` (`-`: standard input), without the line break an editor or `echo`
/// adds at the end.
fn read_secret(flag: &str, path: &Path) -> anyhow::Result<String> {
    let mut text = String::new();
    if path == Path::new("-") {
        std::io::stdin()
            .read_to_string(&mut text)
            .with_context(|| format!("cannot read {flag} from standard input"))?;
    } else {
        text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {flag} {}", path.display()))?;
    }
    Ok(text.trim_end_matches(['\n', '\r']).to_owned())
}
