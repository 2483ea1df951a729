//! Helper of `bench/run.sh` (not part of the server): creates and drops the benchmark database,
//! seeds users and tasks in bulk through the application's own entities (so SQLite's encodings
//! of UUIDs and timestamps are exactly the server's), mints one token per user, removes what a
//! write workload added, prepares PostgREST's and PostGraphile's roles, and turns the raw results
//! into tables. It also writes each user's page-500 cursor (the `gql-page500` workload), encoded
//! by the server's own encoder (`todo_api::testing::default_order_cursor`).
//!
//! `cargo run --release --example bench-tool -- --help`

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{TimeDelta, Utc};
use clap::{Parser, Subcommand};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, Database, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use todo_api::config::Secret;
use todo_api::testing::{TaskTags, task, task_tag, user};
use todo_api::token::{MintRequest, mint_hs256};
use uuid::Uuid;

/// Rows per INSERT statement: 7 bound values each, well under SQLite's and PostgreSQL's limits.
const BATCH: usize = 1000;
/// Title prefix of every task a write workload creates; `reset` deletes them.
const WRITTEN_PREFIX: &str = "wrk ";
/// Page size of the GraphQL page workloads and the page `gql-page500` asks for: `after` the
/// 9,980th newest task, so the answer is tasks 9,981–10,000 (needs 10,000 tasks per user).
const PAGE_SIZE: u64 = 20;
const DEEP_PAGE: u64 = 500;

#[derive(Parser)]
#[command(about = "Helper of bench/run.sh")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// CREATE DATABASE on a PostgreSQL server.
    Createdb {
        #[arg(long)]
        admin_url: String,
        #[arg(long)]
        name: String,
    },
    /// DROP DATABASE (closing other sessions first).
    Dropdb {
        #[arg(long)]
        admin_url: String,
        #[arg(long)]
        name: String,
    },
    /// Migrates, inserts USERS users with TASKS tasks each, and writes one line per user:
    /// `user_id token task_id,task_id,… cursor`: the task ids the toggle workload flips, and the
    /// cursor (CREATED_AT DESC) of the user's 9,980th newest task, whose `after` page is page 500
    /// of 20 (`-` when TASKS is below 10,000).
    Seed {
        #[arg(long)]
        database_url: String,
        #[arg(long)]
        users: usize,
        #[arg(long)]
        tasks: usize,
        /// Extra tasks owned by users the load never signs for (a bigger table, same pages).
        #[arg(long, default_value_t = 0)]
        filler_tasks: usize,
        /// HS256 secret the server is started with.
        #[arg(long, env = "BETTER_AUTH_SECRET", hide_env_values = true)]
        secret: String,
        /// Task ids written per user for the toggle workload.
        #[arg(long, default_value_t = 20)]
        toggle_ids: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// Deletes the tasks that write workloads created (title starting with "wrk "); on
    /// PostgreSQL also VACUUM ANALYZE, so every run starts from the same table.
    Reset {
        #[arg(long)]
        database_url: String,
    },
    /// Row-level security and roles for PostgREST on the benchmark database's `tasks` table.
    PostgrestSetup {
        #[arg(long)]
        database_url: String,
    },
    /// Row-level security and a read-only role for PostGraphile on `tasks` and `users` (beside
    /// PostgREST's, which it leaves as they are).
    PostgraphileSetup {
        #[arg(long)]
        database_url: String,
    },
    /// Medians per (backend, workload, connections) of a results file written by run.sh, and the
    /// todo-api / PostgREST and todo-api / PostGraphile ratios of the same repetition.
    Report { results: PathBuf },
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Createdb { admin_url, name } => {
            check_identifier(&name)?;
            let admin = Database::connect(&admin_url).await?;
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await?;
        }
        Command::Dropdb { admin_url, name } => {
            check_identifier(&name)?;
            let admin = Database::connect(&admin_url).await?;
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await?;
        }
        Command::Seed {
            database_url,
            users,
            tasks,
            filler_tasks,
            secret,
            toggle_ids,
            out,
        } => {
            seed(
                &database_url,
                users,
                tasks,
                filler_tasks,
                &secret,
                toggle_ids,
                &out,
            )
            .await?
        }
        Command::Reset { database_url } => reset(&database_url).await?,
        Command::PostgrestSetup { database_url } => postgrest_setup(&database_url).await?,
        Command::PostgraphileSetup { database_url } => postgraphile_setup(&database_url).await?,
        Command::Report { results } => print!("{}", report(&std::fs::read_to_string(&results)?)?),
    }
    Ok(())
}

fn check_identifier(name: &str) -> anyhow::Result<()> {
    let plain = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    anyhow::ensure!(plain, "database name {name:?}: use a-z, 0-9 and _ only");
    Ok(())
}

async fn seed(
    url: &str,
    users: usize,
    tasks: usize,
    filler_tasks: usize,
    secret: &str,
    toggle_ids: usize,
    out: &PathBuf,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let db = todo_api::testing::connect(url).await?;
    todo_api::testing::migrate::up::<migration::Migrator>(&db, url, None).await?;
    let secret = Secret::new(secret.to_owned());
    secret
        .check_length("BETTER_AUTH_SECRET")
        .map_err(anyhow::Error::msg)?;
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?,
    );
    // Oldest first, one millisecond apart, so every user's newest tasks are the last ones made.
    let total = users * tasks + filler_tasks;
    let start = Utc::now() - TimeDelta::milliseconds(i64::try_from(total)?) - TimeDelta::hours(1);
    let mut made = 0usize;
    let mut timestamp = || {
        made += 1;
        start + TimeDelta::milliseconds(i64::try_from(made).unwrap_or_default())
    };

    let filler_per_user = 1000;
    let filler_users = filler_tasks.div_ceil(filler_per_user);
    let user_ids: Vec<String> = (0..users)
        .map(|i| format!("bench-user-{i:06}"))
        .chain((0..filler_users).map(|i| format!("filler-user-{i:06}")))
        .collect();
    for chunk in user_ids.chunks(BATCH) {
        let now = todo_api::testing::now_micros();
        let rows = chunk.iter().map(|id| user::ActiveModel {
            id: Set(id.clone()),
            email: Set(Some(format!("{id}@bench.example"))),
            name: Set(Some(id.clone())),
            created_at: Set(now),
            updated_at: Set(now),
        });
        user::Entity::insert_many(rows)
            .exec_without_returning(&db)
            .await?;
    }

    // Each task row goes to (owner, title); the toggle ids are collected for the load's users.
    let mut lines = Vec::with_capacity(users);
    let mut pending: Vec<task::ActiveModel> = Vec::with_capacity(BATCH);
    let mut pending_tags: Vec<task_tag::ActiveModel> = Vec::with_capacity(BATCH);
    let txn = db.begin().await?;
    for (index, owner) in user_ids.iter().enumerate() {
        let count = if index < users {
            tasks
        } else {
            filler_per_user.min(filler_tasks - (index - users) * filler_per_user)
        };
        let mut ids = Vec::with_capacity(toggle_ids);
        for n in 0..count {
            let at = timestamp();
            let id = Uuid::now_v7();
            if index < users && n + toggle_ids >= count {
                ids.push(id.to_string());
            }
            // Two tags a task, from cycles of 5 and 7: the `list-tag` workload's `tag=t1&tag=t2`
            // matches one task in 35 (about 3 of a user's 100).
            let (first, second) = (format!("t{}", n % 5), format!("t{}", n % 7));
            let tags = if first == second {
                vec![first]
            } else {
                vec![first, second]
            };
            pending.push(task::ActiveModel {
                id: Set(id),
                user_id: Set(owner.clone()),
                title: Set(format!("Task {n} of {owner}")),
                description: Set((n % 2 == 0).then(|| format!("Seeded task number {n}"))),
                completed: Set(n % 3 == 0),
                created_at: Set(at),
                updated_at: Set(at),
                // Its tags on the row too, as the server writes them.
                tags: Set(TaskTags::parse(tags.clone()).expect("valid tags").to_column()),
                // Priority, due date and repetition: the columns' defaults, as a plain create.
                ..Default::default()
            });
            for tag in tags {
                pending_tags.push(task_tag::ActiveModel {
                    user_id: Set(owner.clone()),
                    task_id: Set(id),
                    tag_key: Set(tag.clone()),
                    tag: Set(tag),
                });
            }
            if pending.len() == BATCH {
                task::Entity::insert_many(std::mem::take(&mut pending))
                    .exec_without_returning(&txn)
                    .await?;
                // After their tasks (the foreign key).
                task_tag::Entity::insert_many(std::mem::take(&mut pending_tags))
                    .exec_without_returning(&txn)
                    .await?;
            }
        }
        if index < users {
            let token = mint_hs256(
                &secret,
                &MintRequest {
                    user_id: owner,
                    email: Some(&format!("{owner}@bench.example")),
                    name: Some(owner),
                    ttl: Duration::from_secs(24 * 3600),
                    issuer: None,
                    audience: None,
                },
            )?;
            lines.push((owner, token, ids.join(",")));
        }
    }
    if !pending.is_empty() {
        task::Entity::insert_many(pending)
            .exec_without_returning(&txn)
            .await?;
    }
    if !pending_tags.is_empty() {
        task_tag::Entity::insert_many(pending_tags)
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    let deep = PAGE_SIZE * (DEEP_PAGE - 1);
    let full = u64::try_from(tasks)? >= PAGE_SIZE * DEEP_PAGE;
    for (owner, token, ids) in lines {
        let after = if full {
            page_cursor(&db, owner, deep).await?
        } else {
            "-".to_owned()
        };
        writeln!(file, "{owner} {token} {ids} {after}")?;
    }
    file.flush()?;
    analyze(&db).await?;
    eprintln!(
        "seeded {} users, {total} tasks ({filler_tasks} filler) in {:.1} s",
        user_ids.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The GraphQL cursor of `owner`'s `nth` task (1-based) in the default order, `created_at DESC`
/// then `id DESC` (the `tasks` connection's default order), made by the server's own encoder.
async fn page_cursor(db: &impl ConnectionTrait, owner: &str, nth: u64) -> anyhow::Result<String> {
    let row = task::Entity::find()
        .filter(task::Column::UserId.eq(owner))
        .order_by_desc(task::Column::CreatedAt)
        .order_by_desc(task::Column::Id)
        .offset(nth - 1)
        .limit(1)
        .one(db)
        .await?
        .with_context(|| format!("{owner} has fewer than {nth} tasks"))?;
    Ok(todo_api::testing::default_order_cursor(&row))
}

async fn analyze(db: &impl ConnectionTrait) -> anyhow::Result<()> {
    match db.get_database_backend() {
        // Every seeded table: one left to autovacuum would be vacuumed during the measured runs.
        DbBackend::Postgres => {
            db.execute_unprepared("VACUUM ANALYZE users, tasks, task_tags")
                .await?
        }
        _ => db.execute_unprepared("ANALYZE").await?,
    };
    Ok(())
}

async fn reset(url: &str) -> anyhow::Result<()> {
    let db = Database::connect(url).await?;
    let deleted = db
        .execute_unprepared(&format!("DELETE FROM tasks WHERE title LIKE '{WRITTEN_PREFIX}%'"))
        .await?
        .rows_affected();
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared("VACUUM ANALYZE tasks").await?;
    } else {
        db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)").await?;
    }
    eprintln!("reset: deleted {deleted} tasks written by the load");
    Ok(())
}

/// PostgREST serves `public.tasks` as `bench_web` (its anonymous role; the JWT carries no `role`
/// claim), and row-level security limits every statement to the token's `sub`. todo-api connects
/// as the table's owner, which RLS does not apply to. The id and timestamps get defaults here
/// because PostgREST's clients send only the title.
async fn postgrest_setup(url: &str) -> anyhow::Result<()> {
    let db = Database::connect(url).await?;
    let sub = "(SELECT current_setting('request.jwt.claims', true)::json->>'sub')";
    let statements = [
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_web') \
         THEN CREATE ROLE bench_web NOLOGIN; END IF; END $$"
            .to_owned(),
        "GRANT USAGE ON SCHEMA public TO bench_web".to_owned(),
        "GRANT SELECT, INSERT, UPDATE, DELETE ON tasks TO bench_web".to_owned(),
        "ALTER TABLE tasks ALTER COLUMN id SET DEFAULT gen_random_uuid()".to_owned(),
        "ALTER TABLE tasks ALTER COLUMN created_at SET DEFAULT now()".to_owned(),
        "ALTER TABLE tasks ALTER COLUMN updated_at SET DEFAULT now()".to_owned(),
        "ALTER TABLE tasks ALTER COLUMN user_id SET DEFAULT \
         current_setting('request.jwt.claims', true)::json->>'sub'"
            .to_owned(),
        "ALTER TABLE tasks ENABLE ROW LEVEL SECURITY".to_owned(),
        "DROP POLICY IF EXISTS own_tasks ON tasks".to_owned(),
        format!(
            "CREATE POLICY own_tasks ON tasks TO bench_web USING (user_id = {sub}) WITH CHECK (user_id = {sub})"
        ),
    ];
    execute_all(&db, &statements).await
}

/// PostGraphile 4 runs every request as `bench_gql` (`--default-role`; the JWT carries no `role`
/// claim) after setting each claim as `jwt.claims.<name>`, so its policies read
/// `jwt.claims.sub`. The role only reads: the `pgql-list` workload lists the caller's tasks with
/// their owner. Its policies apply `TO bench_gql` alone, so PostgREST's `bench_web` policy on
/// `tasks` is untouched, and `bench_web` has no grant on `users`.
async fn postgraphile_setup(url: &str) -> anyhow::Result<()> {
    let db = Database::connect(url).await?;
    let sub = "(SELECT current_setting('jwt.claims.sub', true))";
    let statements = [
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_gql') \
         THEN CREATE ROLE bench_gql NOLOGIN; END IF; END $$"
            .to_owned(),
        // PostGraphile switches to the role with SET LOCAL ROLE: the connecting user must be a
        // member (a superuser needs no grant, but takes it without complaint).
        "GRANT bench_gql TO CURRENT_USER".to_owned(),
        "GRANT USAGE ON SCHEMA public TO bench_gql".to_owned(),
        "GRANT SELECT ON tasks, users TO bench_gql".to_owned(),
        "ALTER TABLE tasks ENABLE ROW LEVEL SECURITY".to_owned(),
        "ALTER TABLE users ENABLE ROW LEVEL SECURITY".to_owned(),
        "DROP POLICY IF EXISTS own_tasks_gql ON tasks".to_owned(),
        format!("CREATE POLICY own_tasks_gql ON tasks FOR SELECT TO bench_gql USING (user_id = {sub})"),
        "DROP POLICY IF EXISTS own_user_gql ON users".to_owned(),
        format!("CREATE POLICY own_user_gql ON users FOR SELECT TO bench_gql USING (id = {sub})"),
    ];
    execute_all(&db, &statements).await
}

/// Runs each statement in turn; an error names the statement that failed.
async fn execute_all(db: &DatabaseConnection, statements: &[String]) -> anyhow::Result<()> {
    for statement in statements {
        db.execute_unprepared(statement)
            .await
            .with_context(|| statement.clone())?;
    }
    Ok(())
}

/// One line of results.tsv (see run.sh for the columns).
struct Row {
    backend: String,
    workload: String,
    connections: u32,
    run: u32,
    values: [f64; 11],
}

const COLUMNS: [&str; 11] = [
    "req/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "max ms",
    "requests",
    "non-2xx",
    "sock err",
    "peak RSS MB",
    "server CPU µs/req",
    "db CPU µs/req",
];

fn parse(results: &str) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for line in results
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let fields: Vec<&str> = line.split('\t').collect();
        anyhow::ensure!(
            fields.len() == 4 + COLUMNS.len(),
            "malformed results line: {line}"
        );
        let mut values = [f64::NAN; COLUMNS.len()];
        for (value, field) in values.iter_mut().zip(&fields[4..]) {
            if *field != "-" {
                *value = field.parse().with_context(|| format!("in {line}"))?;
            }
        }
        rows.push(Row {
            backend: fields[0].to_owned(),
            workload: fields[1].to_owned(),
            connections: fields[2].parse()?,
            run: fields[3].parse()?,
            values,
        });
    }
    Ok(rows)
}

/// The median of the values that are numbers (NaN where there is none).
fn median(mut values: Vec<f64>) -> f64 {
    values.retain(|v| !v.is_nan());
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn report(results: &str) -> anyhow::Result<String> {
    let rows = parse(results)?;
    let mut order: Vec<(String, String, u32)> = Vec::new();
    let mut groups: BTreeMap<(String, String, u32), Vec<&Row>> = BTreeMap::new();
    for row in &rows {
        let key = (row.backend.clone(), row.workload.clone(), row.connections);
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(row);
    }
    let mut out = String::new();
    writeln!(out, "Medians of n runs per cell.\n")?;
    writeln!(
        out,
        "| backend | workload | conns | n | {} |",
        COLUMNS.join(" | ")
    )?;
    writeln!(out, "|---|---|---:|---:|{}", "---:|".repeat(COLUMNS.len()))?;
    for key in &order {
        let group = &groups[key];
        let cells: Vec<String> = (0..COLUMNS.len())
            .map(|i| {
                let m = median(group.iter().map(|r| r.values[i]).collect());
                match i {
                    _ if m.is_nan() => "-".to_owned(),
                    0 | 5 | 6 | 7 | 9 | 10 => format!("{m:.0}"),
                    8 => format!("{m:.1}"),
                    _ => format!("{m:.2}"),
                }
            })
            .collect();
        writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            key.0,
            key.1,
            key.2,
            group.len(),
            cells.join(" | ")
        )?;
    }

    // todo-api / PostgREST (pgrst-X against X) and todo-api / PostGraphile (pgql-X against
    // gql-X), per repetition (same moment, same machine load), then the median.
    let mut ratios = String::new();
    for key in &order {
        let (against, ours_workload) = if let Some(rest) = key.1.strip_prefix("pgrst-") {
            ("PostgREST", rest.to_owned())
        } else if let Some(rest) = key.1.strip_prefix("pgql-") {
            ("PostGraphile", format!("gql-{rest}"))
        } else {
            continue;
        };
        let ours_key = (key.0.clone(), ours_workload.clone(), key.2);
        let Some(ours) = groups.get(&ours_key) else {
            continue;
        };
        let per_run = |metric: usize| -> Vec<f64> {
            groups[key]
                .iter()
                .filter_map(|t| {
                    ours.iter()
                        .find(|o| o.run == t.run)
                        .map(|o| o.values[metric] / t.values[metric])
                })
                .collect()
        };
        let rps = per_run(0);
        writeln!(
            ratios,
            "| {} | {} | {} | {} | {:.2} | {} | {:.2} |",
            ours_workload,
            against,
            key.2,
            rps.len(),
            median(rps.clone()),
            rps.iter()
                .map(|r| format!("{r:.2}"))
                .collect::<Vec<_>>()
                .join(", "),
            median(per_run(3)),
        )?;
    }
    if !ratios.is_empty() {
        writeln!(
            out,
            "\ntodo-api ÷ PostgREST / PostGraphile in the same repetition (median of the runs):\n"
        )?;
        writeln!(
            out,
            "| workload | against | conns | runs | req/s ratio | per run | p99 ratio |"
        )?;
        writeln!(out, "|---|---|---:|---:|---:|---|---:|")?;
        out.push_str(&ratios);
    }
    Ok(out)
}
