//! What each subcommand does: validate input, call the store, render the result.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{bail, Context};
use clap::CommandFactory;
use omnihub_config::{database_url, Env};
use omnihub_db::{bootstrap, BootstrapOutcome, Database, DatabaseUrl, DbError};
use omnihub_domain::{DomainError, InstanceChangesInput, InstanceName, NewInstanceInput};

use crate::render;
use crate::secrets::SecretValues;
use crate::{AddArgs, Cli, Command, UpdateArgs};

/// Runs one parsed command line with the configuration in `env`, writing results to `out`.
pub fn run(cli: Cli, env: &Env, out: &mut impl Write) -> anyhow::Result<()> {
    if let Command::Update(args) = &cli.command {
        reject_empty_update(args);
    }
    if let Command::MigrateDb {
        from,
        to,
        include_finished,
    } = &cli.command
    {
        return migrate_db(from, to, *include_finished, out, cli.json);
    }
    let db = open(env, cli.database_url.as_deref())?;
    let json = cli.json;
    match cli.command {
        Command::List => {
            let instances = db.instances().list(0, i64::MAX)?;
            let connections = db.connections().list()?;
            let paused = db.chats().paused_counts()?;
            render::instance_list(out, &instances, (&connections, &paused), json)?;
        }
        Command::Show { name } => {
            let instance = db.instances().get(&parse_name(name)?)?;
            let connection = db.connections().get(instance.name.as_str())?;
            render::instance_detail(out, &instance, connection.as_ref(), json)?;
        }
        Command::Add(args) => {
            let new = add_input(args)?.validate().map_err(flag_error)?;
            let created = db.instances().create(&new)?;
            render::changed(out, &created, "created", json)?;
        }
        Command::Update(args) => {
            let name = parse_name(args.name.clone())?;
            let mut input = update_input(args)?;
            if input.agent_options.is_some() && input.agent_kind.is_none() {
                // Options alone are for the kind the instance has.
                input.agent_kind = Some(db.instances().get(&name)?.agent_kind.to_string());
            }
            let changes = input.validate().map_err(flag_error)?;
            // Options are checked against the stored ones too: name the flag either way.
            let updated = db.instances().update(&name, &changes).map_err(|err| match err {
                DbError::Invalid(err) => flag_error(err),
                other => other.into(),
            })?;
            render::changed(out, &updated, "updated", json)?;
        }
        Command::Delete { name, force } => delete(&db, parse_name(name)?, force, out, json)?,
        Command::SetDefault { name } => {
            let instance = db.instances().set_default(&parse_name(name)?)?;
            render::changed(out, &instance, "made the default", json)?;
        }
        Command::Messages(args) => crate::messages::run(&db, args, out, json)?,
        Command::Rules { action } => crate::chats::rules(&db, action, out, json)?,
        Command::Chats { name, paused } => crate::chats::list(&db, name, paused, out, json)?,
        Command::Pause { name, chat, minutes } => {
            crate::chats::steer(&db, (name, chat), Some(minutes), out, json)?
        }
        Command::Send(args) => crate::send::run(&db, args, out, json)?,
        Command::Resume { name, chat } => crate::chats::steer(&db, (name, chat), None, out, json)?,
        Command::Conversations { action } => crate::agents::conversations(&db, action, out, json)?,
        Command::TestAgent { name, text } => crate::agents::test_agent(&db, name, &text, out, json)?,
        Command::Connect {
            name,
            number,
            timeout,
        } => {
            let wait = std::time::Duration::from_secs(timeout);
            if !crate::numbers::connect(&db, env, (&name, number.as_deref(), wait), out, json)? {
                bail!("'{name}' is not connected");
            }
        }
        Command::Status { name } => crate::numbers::status(&db, env, name.as_deref(), out, json)?,
        Command::WebhookSync { name } => crate::numbers::simple(&db, env, "webhook-sync", &name, out, json)?,
        Command::Restart { name } => crate::numbers::simple(&db, env, "restart", &name, out, json)?,
        Command::Logout { name } => crate::numbers::simple(&db, env, "logout", &name, out, json)?,
        Command::Import(args) => crate::import::run(&db, env, args, out, json)?,
        Command::MigrateDb { .. } => unreachable!("handled before opening the default database"),
        Command::Bootstrap => {
            let outcome = bootstrap(&db, |name| env.raw(name))?;
            render::bootstrap(out, &outcome, json)?;
            if outcome == BootstrapOutcome::NothingToSeed && !json {
                writeln!(
                    out,
                    "Set AGENT_API_URL (and AGENT_API_KEY) or use 'omnihub-instance add'."
                )?;
            }
        }
    }
    Ok(())
}

/// Opens and migrates the database named by `--database-url`, `OMNIHUB_DATABASE_URL`,
/// `DATABASE_URL` or the default SQLite file, in that order (the environment over `.env`).
fn open(env: &Env, flag: Option<&str>) -> anyhow::Result<Database> {
    let db = Database::connect(&database_url(env, flag)?)?;
    db.migrate()?;
    Ok(db)
}

fn parse_name(name: String) -> Result<InstanceName, DomainError> {
    InstanceName::parse(name)
}

/// Copies `from` into `to` and reports the verified counts.
fn migrate_db(
    from: &str,
    to: &str,
    include_finished: bool,
    out: &mut impl Write,
    json: bool,
) -> anyhow::Result<()> {
    let source_url = DatabaseUrl::parse(from).context("--from")?;
    let target_url = DatabaseUrl::parse(to).context("--to")?;
    if source_url == target_url {
        bail!("--from and --to name the same database");
    }
    if let DatabaseUrl::Sqlite(path) = &source_url {
        if !path.exists() {
            bail!("the source database {} does not exist", path.display());
        }
    }
    let source = Database::connect(&source_url)?;
    source.migrate()?;
    let target = Database::connect(&target_url)?;
    target.migrate()?;
    let report = omnihub_db::copy_database(&source, &target, include_finished)?;
    if json {
        let body = serde_json::json!({
            "instances": report.instances,
            "messages": report.messages,
            "finished_skipped": report.finished_skipped,
            "verified": true,
        });
        serde_json::to_writer_pretty(&mut *out, &body)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "Copied {} instances and {} messages from {source_url} to {target_url}; counts verified.",
            report.instances, report.messages
        )?;
        if report.finished_skipped > 0 {
            writeln!(
                out,
                "{} finished messages were left behind (use --include-finished to copy them).",
                report.finished_skipped
            )?;
        }
    }
    Ok(())
}

/// `update` without any option is a usage error (exit 2), like a missing argument.
fn reject_empty_update(args: &UpdateArgs) {
    let o = &args.optional;
    let nothing = args.whatsapp_instance.is_none()
        && args.agent_api_url.is_none()
        && args.agent_api_key.is_none()
        && args.default_agent.is_none()
        && o.evolution_url.is_none()
        && o.evolution_key.is_none()
        && o.session_id_prefix.is_none()
        && o.agent_timeout.is_none()
        && o.agent_kind.is_none()
        && o.agent_options.is_empty()
        && o.webhook_secret.is_none()
        && o.agent_api_key_file.is_none()
        && o.evolution_key_file.is_none()
        && o.webhook_secret_file.is_none()
        && !o.default;
    if nothing {
        Cli::command()
            .error(
                clap::error::ErrorKind::MissingRequiredArgument,
                "update needs at least one option to change (see 'omnihub-instance update --help')",
            )
            .exit();
    }
}

fn add_input(args: AddArgs) -> anyhow::Result<NewInstanceInput> {
    let secrets = SecretValues::read(&args.optional, args.agent_api_key)?;
    let agent_api_key = secrets.agent_api_key.unwrap_or_default();
    Ok(NewInstanceInput {
        agent_kind: args.optional.agent_kind,
        agent_options: crate::agents::parse_options(&args.optional.agent_options)?,
        name: args.name,
        evolution_url: args.optional.evolution_url,
        evolution_key: secrets.evolution_key,
        whatsapp_instance: args.whatsapp_instance,
        session_id_prefix: args.optional.session_id_prefix,
        agent_api_url: args.agent_api_url,
        agent_api_key,
        default_agent: args.default_agent,
        agent_timeout: args.optional.agent_timeout,
        is_default: Some(args.optional.default),
        webhook_secret: secrets.webhook_secret,
    })
}

fn update_input(args: UpdateArgs) -> anyhow::Result<InstanceChangesInput> {
    let secrets = SecretValues::read(&args.optional, args.agent_api_key)?;
    Ok(InstanceChangesInput {
        agent_kind: args.optional.agent_kind,
        agent_options: crate::agents::parse_options(&args.optional.agent_options)?,
        evolution_url: args.optional.evolution_url,
        evolution_key: secrets.evolution_key,
        whatsapp_instance: args.whatsapp_instance,
        session_id_prefix: args.optional.session_id_prefix,
        agent_api_url: args.agent_api_url,
        agent_api_key: secrets.agent_api_key,
        default_agent: args.default_agent,
        agent_timeout: args.optional.agent_timeout,
        is_default: args.optional.default.then_some(true),
        webhook_secret: secrets.webhook_secret,
    })
}

/// Names the flag the admin typed instead of the field (`--agent-api-url`, not `agent_api_url`).
fn flag_error(err: DomainError) -> anyhow::Error {
    let field = err.field();
    let flag = match field {
        "name" => "NAME".to_owned(),
        "agent_options" => "--agent-option".to_owned(),
        other => format!("--{}", other.replace('_', "-")),
    };
    let rule = match &err {
        DomainError::Invalid { rule, .. } | DomainError::Missing { rule, .. } => rule.clone(),
    };
    let verb = if matches!(err, DomainError::Missing { .. }) {
        "missing"
    } else {
        "invalid"
    };
    let hint = if field == "agent_api_key" && verb == "missing" {
        " (give it as --agent-api-key-file PATH ('-' for standard input), OMNIHUB_AGENT_API_KEY or --agent-api-key KEY)"
    } else {
        ""
    };
    anyhow::anyhow!("{verb} {flag}: {rule}{hint}")
}

fn delete(
    db: &Database,
    name: InstanceName,
    force: bool,
    out: &mut impl Write,
    json: bool,
) -> anyhow::Result<()> {
    let mut force = force;
    if !force {
        let instance = db.instances().get(&name)?;
        if !std::io::stdin().is_terminal() {
            bail!("refusing to delete instance '{name}' without confirmation: stdin is not a terminal, use --force");
        }
        let last = db.instances().count()? == 1;
        let mut question = format!("Delete instance '{name}'");
        if instance.is_default {
            question.push_str(" (DEFAULT)");
        }
        if last {
            question.push_str(", the last instance");
        }
        eprint!("{question}? [y/N] ");
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .context("cannot read the answer")?;
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            writeln!(out, "Deletion cancelled.")?;
            return Ok(());
        }
        // The admin confirmed knowing it is the last one: that is the force the store asks for.
        force = last;
    }
    match db.instances().delete(&name, force) {
        Ok(outcome) => render::deleted(out, &outcome, json),
        Err(DbError::Conflict(reason)) => bail!("{reason} (use --force)"),
        Err(err) => Err(err.into()),
    }
}
