#!/usr/bin/env bash
# A one-time smoke test of the `snowflake` profile on a real account (docs/snowflake.md).
#
# It copies the project to a temporary folder with [warehouse] database = NETFLIX_ELT_SMOKE_<random>,
# extracts a tiny synthetic batch (to $NETFLIX_ELT_SMOKE_S3/<run id>/ when set, else to a local
# landing folder), prints the statements `load` (and `seed`) would send, creates the throwaway
# database with the admin role, and runs every statement kind on it:
#   init; load (S3: external stage, COPY into the landing table, VALIDATE, typed INSERT; local: PUT +
#   Parquet COPY); build (seeds, views, tables, the first incremental CTAS, snapshot CTAS, GX suites);
#   a second batch and build (incremental MERGE, snapshot MERGE); validate; a few row counts.
# On exit, whatever happened, it drops the database (admin role), deletes the S3 objects it wrote
# and removes its temporary folders.
#
# Needs: `netflix-elt` on PATH (pip install -e .), a Snowflake connection (connections.toml or
# SNOWFLAKE_CONNECTIONS, see docs/snowflake.md), a warehouse and role as in the admin SQL.
# For the S3 path also the storage integration of profiles.snowflake (its STORAGE_ALLOWED_LOCATIONS
# must cover $NETFLIX_ELT_SMOKE_S3) and AWS credentials for boto3 (extract writes the batch).
#
# Environment (all optional except the connection):
#   NETFLIX_ELT_SMOKE_S3          s3://bucket/prefix to land the batches under (default: a local landing)
#   NETFLIX_ELT_SMOKE_CONNECTION  connection name for netflix-elt (else SNOWFLAKE_DEFAULT_CONNECTION_NAME,
#                                 then default_connection_name / "default")
#   NETFLIX_ELT_SMOKE_ADMIN_CONNECTION  connection for CREATE/DROP DATABASE (default: the same one)
#   NETFLIX_ELT_SMOKE_ADMIN_ROLE  role that creates and drops the throwaway database (default: SYSADMIN)
#   NETFLIX_ELT_SMOKE_YES=1       do not ask before creating anything
#   NETFLIX_ELT_SMOKE_KEEP=1      keep the database and folders (to inspect them; drop them yourself)
#
# It never prints a secret: no `set -x`, the connection is described by account, user and
# authenticator only, and connector errors pass through netflix_elt.connections.scrub.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_ID="$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n' | tr '[:lower:]' '[:upper:]')"
DB="NETFLIX_ELT_SMOKE_${RUN_ID}"
ADMIN_ROLE="${NETFLIX_ELT_SMOKE_ADMIN_ROLE:-SYSADMIN}"
export COLUMNS="${COLUMNS:-200}"  # rich tables one row per line, so the counts can be read

say() { printf '\n== %s\n' "$*"; }
die() { printf 'snowflake_smoke: %s\n' "$*" >&2; exit 2; }

# preconditions ----------------------------------------------------------------------------------
command -v netflix-elt >/dev/null || die "netflix-elt is not on PATH (pip install -e . in $REPO)"
NE_BIN="$(command -v netflix-elt)"
PY="${NETFLIX_ELT_PYTHON:-$(dirname "$NE_BIN")/python}"
[ -x "$PY" ] || PY="$(command -v python3)"
"$PY" -c 'import netflix_elt, snowflake.connector' 2>/dev/null \
    || die "$PY cannot import netflix_elt and snowflake.connector; set NETFLIX_ELT_PYTHON to netflix-elt's python"
if [ -n "${NETFLIX_ELT_SMOKE_CONNECTION:-}" ]; then
    export SNOWFLAKE_DEFAULT_CONNECTION_NAME="$NETFLIX_ELT_SMOKE_CONNECTION"
fi
# the connection netflix-elt will use: profiles.snowflake.connection_name, else the default one
PROFILE_CONNECTION="$("$PY" -c 'import sys; from pathlib import Path; from netflix_elt.config import load_settings
print(load_settings(Path(sys.argv[1]), profile="snowflake").profile_config.connection_name or "")' "$REPO")" \
    || die "cannot read $REPO/config/netflix_elt.toml (profiles.snowflake)"
ADMIN_CONNECTION="${NETFLIX_ELT_SMOKE_ADMIN_CONNECTION:-$PROFILE_CONNECTION}"

# Describe the connection without its secrets, or refuse with netflix-elt's own message.
if ! CONN_DESC="$("$PY" - "$PROFILE_CONNECTION" <<'PY' 2>&1
import sys
from netflix_elt.connections import snowflake_connection_params, snowflake_home
from netflix_elt.errors import ConfigError
try:
    p = snowflake_connection_params(sys.argv[1] or None)
except ConfigError as e:
    print(f"{e}\n(no Snowflake connection: put one in {snowflake_home() / 'connections.toml'} and select it "
          "with SNOWFLAKE_DEFAULT_CONNECTION_NAME or NETFLIX_ELT_SMOKE_CONNECTION, or define it in "
          "SNOWFLAKE_CONNECTIONS (TOML); see docs/snowflake.md)")
    sys.exit(1)
auth = p.get("authenticator") or ("SNOWFLAKE_JWT" if p.get("private_key_file") else "snowflake")
print(f"account={p['account']} user={p['user']} authenticator={auth}")
PY
)"; then
    die "refusing to run: $CONN_DESC"
fi

S3_ROOT="${NETFLIX_ELT_SMOKE_S3:-}"
if [ -n "$S3_ROOT" ]; then
    case "$S3_ROOT" in s3://?*) ;; *) die "NETFLIX_ELT_SMOKE_S3 must be an s3:// URL, got '$S3_ROOT'" ;; esac
fi

# Run statements on the admin connection with the admin role (statements are printed, nothing else).
admin_sql() {
    "$PY" - "$ADMIN_CONNECTION" "$ADMIN_ROLE" "$@" <<'PY'
import sys
import snowflake.connector
from netflix_elt.connections import scrub, snowflake_connection_params
name, role, *stmts = sys.argv[1:]
params = snowflake_connection_params(name or None)
params["role"] = role
try:
    con = snowflake.connector.connect(**params)
    try:
        for s in stmts:
            print(f"[{role}] {s}")
            con.cursor().execute(s)
    finally:
        con.close()
except Exception as e:
    lines = str(e).strip().splitlines() or [type(e).__name__]
    print("admin statement failed: " + scrub(lines[0], params), file=sys.stderr)
    sys.exit(1)
PY
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/netflix-elt-smoke.XXXXXX")"
PROJ="$WORK/project"
DB_CREATED=0
S3_PREFIX=""

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ "${NETFLIX_ELT_SMOKE_KEEP:-0}" = 1 ]; then
        say "kept (NETFLIX_ELT_SMOKE_KEEP=1): database $DB, folder $WORK${S3_PREFIX:+, $S3_PREFIX}"
        exit "$rc"
    fi
    say "cleaning up"
    if [ "$DB_CREATED" = 1 ]; then
        admin_sql "DROP DATABASE IF EXISTS $DB" || printf 'could not drop %s: drop it yourself\n' "$DB" >&2
    fi
    if [ -n "$S3_PREFIX" ]; then
        "$PY" - "$S3_PREFIX" <<'PY' || printf 'could not delete %s: delete it yourself\n' "$S3_PREFIX" >&2
import sys
import boto3
bucket, _, prefix = sys.argv[1][len("s3://"):].partition("/")
s3 = boto3.client("s3")
n = 0
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix.rstrip("/") + "/"):
    keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
    if keys:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})
        n += len(keys)
print(f"deleted {n} objects under {sys.argv[1]}")
PY
    fi
    rm -rf "$WORK"
    if [ "$rc" = 0 ]; then say "smoke test passed"; else say "smoke test FAILED (exit $rc)"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# a copy of the project whose database is the throwaway one -----------------------------------------
mkdir -p "$PROJ/config"
for d in transforms seeds expectations; do
    [ -d "$REPO/$d" ] && cp -R "$REPO/$d" "$PROJ/$d"
done
find "$PROJ" -name __pycache__ -type d -prune -exec rm -rf {} +
"$PY" - "$REPO/config/netflix_elt.toml" "$PROJ/config/netflix_elt.toml" "$DB" <<'PY'
import re, sys, tomllib
src, dst, db = sys.argv[1:]
text = open(src, encoding="utf-8").read()
head, sep, rest = text.partition("[warehouse]")
rest, n = re.subn(r'(?m)^(\s*database\s*=\s*)"[^"]*"', rf'\g<1>"{db}"', rest, count=1)
if not sep or n != 1:
    sys.exit(f"{src}: no [warehouse] database = ... line to replace")
open(dst, "w", encoding="utf-8").write(head + sep + rest)
assert tomllib.loads(head + sep + rest)["warehouse"]["database"] == db
PY
export NETFLIX_ELT_HOME="$WORK/state"            # locks, local landing and target stay in $WORK
export NETFLIX_ELT_TARGET_PATH="$WORK/target"
SF=(--project-dir "$PROJ" --profile snowflake)

if [ -n "$S3_ROOT" ]; then
    LANDING="${S3_ROOT%/}/netflix-elt-smoke-${RUN_ID}"
    S3_PREFIX="$LANDING"
else
    LANDING="$WORK/landing"
fi

say "smoke test on $CONN_DESC"
printf 'database: %s (throwaway; dropped at the end with role %s)\nlanding:  %s\n' "$DB" "$ADMIN_ROLE" "$LANDING"

say "extract batch 1 (synthetic, 5000 ratings)"
netflix-elt extract --project-dir "$PROJ" --source synthetic --scale 5000 --to "$LANDING"

say "the statements load and seed would send to an empty account (review them)"
[[ "$(netflix-elt load --help)" == *--print-sql* ]] \
    || die "this netflix-elt has no 'load --print-sql' (issue 19); update it so you can review what will run"
netflix-elt load "${SF[@]}" --from "$LANDING" --print-sql
netflix-elt seed "${SF[@]}" --print-sql

if [ -t 0 ] && [ "${NETFLIX_ELT_SMOKE_YES:-0}" != 1 ]; then
    read -r -p "create $DB and run these on the account? [y/N] " answer
    case "$answer" in y | Y | yes) ;; *) die "stopped before creating anything" ;; esac
fi

say "create the throwaway database (what the admin SQL does for the project's database)"
TRANSFORMER_ROLE="$("$PY" -c 'import sys; from netflix_elt.config import load_settings
p = load_settings(__import__("pathlib").Path(sys.argv[1]), profile="snowflake").profile_config
print(p.role or "TRANSFORMER")' "$PROJ")"
admin_sql "CREATE DATABASE $DB"
DB_CREATED=1  # only now: never drop a database this run did not create
admin_sql "GRANT OWNERSHIP ON DATABASE $DB TO ROLE $TRANSFORMER_ROLE COPY CURRENT GRANTS"

say "init"
netflix-elt init "${SF[@]}"

say "load batch 1"
netflix-elt load "${SF[@]}" --from "$LANDING"

say "build (load: nothing new; seeds, views, tables, incremental CTAS, snapshot CTAS, GX suites)"
netflix-elt build "${SF[@]}" --from "$LANDING"

netflix-elt tables "${SF[@]}" | tee "$WORK/tables1.txt"

say "extract batch 2 (a delta) and build again (COPY, incremental MERGE, snapshot MERGE)"
netflix-elt extract --project-dir "$PROJ" --source synthetic --scale 5000 --to "$LANDING"
netflix-elt build "${SF[@]}" --from "$LANDING"

say "validate (Great Expectations on Snowflake's datasource)"
netflix-elt validate "${SF[@]}"

say "row counts"
netflix-elt tables "${SF[@]}" | tee "$WORK/tables2.txt"
rows_of() { # rows_of FILE SCHEMA TABLE: the row count `netflix-elt tables` printed (rich or ASCII box)
    sed -e 's/│/ /g' -e 's/┃/ /g' -e 's/|/ /g' "$1" \
        | awk -v s="$2" -v t="$3" '$1 == s && $2 == t { gsub(",", "", $3); print $3; exit }'
}
fail=0
check() { # check LABEL VALUE CONDITION...
    local label="$1" value="$2"
    shift 2
    if [ -n "$value" ] && [ "$value" "$@" ]; then
        printf 'ok   %s = %s\n' "$label" "$value"
    else
        printf 'FAIL %s = %s (expected %s)\n' "$label" "${value:-missing}" "$*"
        fail=1
    fi
}
TARGET_SCHEMA=DEV  # [targets.dev] schema, the default target
raw1="$(rows_of "$WORK/tables1.txt" RAW RAW_RATINGS)"
raw2="$(rows_of "$WORK/tables2.txt" RAW RAW_RATINGS)"
check "RAW.RAW_RATINGS after batch 1" "$raw1" -gt 0
check "RAW.RAW_RATINGS after batch 2" "$raw2" -gt "${raw1:-0}"
check "RAW.LOAD_HISTORY" "$(rows_of "$WORK/tables2.txt" RAW LOAD_HISTORY)" -gt 0
check "RAW.RAW_MOVIES" "$(rows_of "$WORK/tables2.txt" RAW RAW_MOVIES)" -gt 0
check "$TARGET_SCHEMA.FCT_RATINGS (incremental)" "$(rows_of "$WORK/tables2.txt" "$TARGET_SCHEMA" FCT_RATINGS)" -gt 0
check "$TARGET_SCHEMA.DIM_MOVIES (table)" "$(rows_of "$WORK/tables2.txt" "$TARGET_SCHEMA" DIM_MOVIES)" -gt 0
check "$TARGET_SCHEMA.SEED_MOVIE_RELEASE_DATES (seed)" \
    "$(rows_of "$WORK/tables2.txt" "$TARGET_SCHEMA" SEED_MOVIE_RELEASE_DATES)" -gt 0
check "SNAPSHOTS.SNAP_MOVIES" "$(rows_of "$WORK/tables2.txt" SNAPSHOTS SNAP_MOVIES)" -gt 0
netflix-elt show "${SF[@]}" fct_ratings --limit 3
netflix-elt show "${SF[@]}" snap_movies --limit 3
[ "$fail" = 0 ] || die "row counts are not as expected (above); NETFLIX_ELT_SMOKE_KEEP=1 keeps the database"
