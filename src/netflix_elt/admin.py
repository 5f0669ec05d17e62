"""The SQL an account admin runs once on Snowflake: role, warehouse, database, schemas, grants, S3.

It replaces the original dbt project's hand-written worksheet; no keys appear in it (S3 access
goes through a storage integration, whose IAM role the admin fills in).
"""

from __future__ import annotations

from netflix_elt.config import Settings, check_identifier


def admin_sql(settings: Settings, *, user: str = "NETFLIX_ELT", s3_url: str | None = None) -> str:
    p = settings.config.profiles.get("snowflake")
    role = check_identifier((p.role if p and p.role else "TRANSFORMER"), "profiles.snowflake.role")
    wh = check_identifier((p.warehouse if p and p.warehouse else "COMPUTE_WH"), "profiles.snowflake.warehouse")
    integ = check_identifier(
        (p.storage_integration if p and p.storage_integration else "MOVIELENS_S3_INTEGRATION"),
        "profiles.snowflake.storage_integration",
    )
    user = check_identifier(user, "user")
    db = settings.database
    schemas = [
        settings.raw_schema,
        *(t.schema_ for t in settings.config.targets.values()),
        settings.snapshot_schema,
        settings.audit_schema,
    ]
    url = s3_url or settings.config.landing.url or "s3://<bucket>/<prefix>/"
    if not url.endswith("/"):
        url += "/"
    lines = [
        "-- Run once as ACCOUNTADMIN (or SECURITYADMIN + SYSADMIN). Review before running.",
        "USE ROLE ACCOUNTADMIN;",
        f"CREATE ROLE IF NOT EXISTS {role};",
        f"GRANT ROLE {role} TO ROLE SYSADMIN;",
        f"CREATE WAREHOUSE IF NOT EXISTS {wh} WAREHOUSE_SIZE = 'XSMALL' AUTO_SUSPEND = 60 AUTO_RESUME = TRUE "
        "INITIALLY_SUSPENDED = TRUE;",
        f"GRANT USAGE, OPERATE ON WAREHOUSE {wh} TO ROLE {role};",
        "-- a service user for key-pair auth: afterwards ALTER USER ... SET RSA_PUBLIC_KEY = <your public key>",
        f"CREATE USER IF NOT EXISTS {user} DEFAULT_ROLE = {role} DEFAULT_WAREHOUSE = {wh} TYPE = SERVICE;",
        f"GRANT ROLE {role} TO USER {user};",
        f"CREATE DATABASE IF NOT EXISTS {db};",
        f"GRANT OWNERSHIP ON DATABASE {db} TO ROLE {role} COPY CURRENT GRANTS;",
    ]
    lines += [f"CREATE SCHEMA IF NOT EXISTS {db}.{s};" for s in dict.fromkeys(schemas)]
    lines += [f"GRANT OWNERSHIP ON SCHEMA {db}.{s} TO ROLE {role} COPY CURRENT GRANTS;" for s in dict.fromkeys(schemas)]
    lines += [
        f"CREATE STORAGE INTEGRATION IF NOT EXISTS {integ}",
        "  TYPE = EXTERNAL_STAGE STORAGE_PROVIDER = 'S3' ENABLED = TRUE",
        "  STORAGE_AWS_ROLE_ARN = 'arn:aws:iam::<account-id>:role/<snowflake-access-role>'",
        f"  STORAGE_ALLOWED_LOCATIONS = ('{url}');",
        f"GRANT USAGE ON INTEGRATION {integ} TO ROLE {role};",
        f"-- then DESC INTEGRATION {integ} gives STORAGE_AWS_IAM_USER_ARN and STORAGE_AWS_EXTERNAL_ID",
        "-- for the trust policy of the IAM role",
    ]
    return "\n".join(lines)
