"""`schemasync backup` with an S3 upload against `pg_dump -Fc` followed by a plain boto3 upload, same database.

Run by hand: `.venv/bin/python -m bench.bench_backup [--size-mb 500] [--runs 3]`. It builds a scratch database
of about `--size-mb` (pg_database_size), starts moto's S3 server in its own process on a free loopback port,
then alternates the two contenders `--runs` times, each as a fresh process, and prints the medians. Target:
schemasync at most 10 % slower. Figures go into bench/RESULTS.md by hand.

What each side does:
- schemasync: pg_dump (custom format) to a temporary file, SHA-256 of the file, manifest, preflight of the
  bucket, a pass computing the parts' SHA-256 for the S3 checksum, multipart upload with SHA-256 per part and
  SSE, HEAD verification, manifest upload.
- baseline: `pg_dump -Fc -f FILE` with the same pg_dump binary, then `boto3.client("s3").upload_file(FILE, ...)`
  with boto3's default transfer settings (and its default CRC32 checksum), nothing verified.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from bench.common import scratch_database

MB = 1024 * 1024
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def build(url: str, size_mb: int) -> int:
    """Three tables of mixed, partly compressible data until the database is about `size_mb`."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE customers (id bigint PRIMARY KEY, email text NOT NULL, name text, created timestamptz)"
        )
        conn.execute(
            "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers(id), "
            "total numeric(12,2), status text, note text, placed timestamptz)"
        )
        conn.execute("CREATE TABLE events (id bigint PRIMARY KEY, order_id bigint, payload text, at timestamptz)")
        conn.execute(
            "INSERT INTO customers SELECT g, 'c' || g || '@example.com', md5(g::text), "
            "timestamptz '2020-01-01' + g * interval '1 minute' FROM generate_series(1, 200000) g"
        )
        batch = 500_000
        start = 1
        while True:
            size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]  # type: ignore[index]
            if size >= size_mb * MB:
                break
            conn.execute(
                "INSERT INTO orders SELECT g, 1 + g %% 200000, (g %% 100000) / 100.0, "
                "(ARRAY['new','paid','shipped','returned'])[1 + g %% 4], "
                "CASE WHEN g %% 3 = 0 THEN md5(g::text) || ' ' || md5((g * 7)::text) ELSE NULL END, "
                "timestamptz '2021-01-01' + g * interval '10 seconds' FROM generate_series(%s, %s) g",
                (start, start + batch - 1),
            )
            conn.execute(
                "INSERT INTO events SELECT g, g, '{\"kind\": \"' || (ARRAY['view','cart','buy'])[1 + g %% 3] || "
                "'\", \"token\": \"' || md5(g::text) || '\"}', timestamptz '2021-01-01' + g * interval '3 seconds' "
                "FROM generate_series(%s, %s) g",
                (start, start + batch - 1),
            )
            start += batch
        conn.execute("CREATE INDEX ON orders (customer_id)")
        conn.execute("VACUUM ANALYZE")
        return int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])  # type: ignore[index]


def start_moto(port: int) -> subprocess.Popen[bytes]:
    moto = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    from tests.fixtures.net import wait_for_port

    wait_for_port(port)
    return proc


BASELINE = """
import sys, boto3
endpoint, bucket, key, path = sys.argv[1:5]
boto3.client("s3", endpoint_url=endpoint).upload_file(path, bucket, key)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--upload-runs", type=int, default=5, help="runs of the upload step alone")
    parser.add_argument("--overhead-runs", type=int, default=5, help="runs on an empty database (fixed costs)")
    args = parser.parse_args()

    from schemasync import pgtools
    from tests.fixtures.net import free_port

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    moto = start_moto(port)
    work = Path(tempfile.mkdtemp(prefix="ssbench-backup-"))
    try:
        import boto3

        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **_keys())
        client.create_bucket(Bucket="bench")
        with scratch_database() as url:
            t0 = time.perf_counter()
            size = build(url, args.size_mb)
            print(f"built a {size / MB:,.0f} MB database in {time.perf_counter() - t0:.0f}s", flush=True)
            server_major = psycopg.connect(url).info.server_version // 10000
            pg_dump = pgtools.find("pg_dump", server_major).path
            env = {
                **os.environ,
                **CREDENTIALS,
                "DATABASE_URL": url,
                "NO_COLOR": "1",
                "SCHEMASYNC_S3_BUCKET": "bench",
                "SCHEMASYNC_S3_ENDPOINT_URL": endpoint,
                "SCHEMASYNC_S3_ADDRESSING_STYLE": "path",
                "SCHEMASYNC_BACKUP_DIR": str(work / "ours"),
            }
            ours, base, dumps = [], [], []
            for run in range(args.runs):
                for side in ("ours", "base") if run % 2 == 0 else ("base", "ours"):
                    _empty(client)
                    shutil.rmtree(work / "ours", ignore_errors=True)
                    t0 = time.perf_counter()
                    if side == "ours":
                        subprocess.run(
                            [sys.executable, "-m", "schemasync", "backup", "--app-version", "1.0.0"],
                            env=env,
                            check=True,
                            capture_output=True,
                            cwd=work,
                        )
                        ours.append(time.perf_counter() - t0)
                    else:
                        dump = work / "base.dump"
                        dump.unlink(missing_ok=True)
                        t1 = time.perf_counter()
                        subprocess.run([pg_dump, "-Fc", "-f", str(dump), url], check=True, env=env)
                        dumps.append(time.perf_counter() - t1)
                        subprocess.run(
                            [sys.executable, "-c", BASELINE, endpoint, "bench", "base/base.dump", str(dump)],
                            env=env,
                            check=True,
                        )
                        base.append(time.perf_counter() - t0)
                    print(f"run {run + 1} {side}: {(ours if side == 'ours' else base)[-1]:.1f}s", flush=True)
            dump_size = (work / "base.dump").stat().st_size
            up_ours, up_base = upload_only(work / "base.dump", endpoint, client, args.upload_runs)
        fixed_ours, fixed_base = fixed_costs(pg_dump, work, args.overhead_runs)
    finally:
        moto.terminate()
        moto.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    o, b = statistics.median(ours), statistics.median(base)
    print(
        f"\ndatabase {size / MB:,.0f} MB, dump {dump_size / MB:,.0f} MB, pg_dump alone median {statistics.median(dumps):.1f}s"
    )
    print(f"schemasync backup + S3 upload: median {o:.1f}s (min {min(ours):.1f}s)")
    print(f"pg_dump -Fc + boto3 upload:    median {b:.1f}s (min {min(base):.1f}s)")
    print(f"ratio {o / b:.3f} ({(o / b - 1) * 100:+.1f} %); target <= +10 %")
    uo, ub = statistics.median(up_ours), statistics.median(up_base)
    print(f"upload step alone, same {dump_size / MB:,.0f} MB file, in one process, {len(up_ours)} runs each:")
    print(
        f"  S3Store.put (hash + parts' SHA-256 + SSE + HEAD verify + manifest): median {uo:.2f}s (min {min(up_ours):.2f}s)"
    )
    print(
        f"  boto3 upload_file (defaults):                                   median {ub:.2f}s (min {min(up_base):.2f}s)"
    )
    print(f"  difference {uo - ub:+.2f}s")
    fo, fb = statistics.median(fixed_ours), statistics.median(fixed_base)
    print(f"fixed costs on an empty database, {len(fixed_ours)} runs each:")
    print(f"  schemasync backup --no-upload (Python start, CLI imports, connection, pg_dump lookup): median {fo:.2f}s")
    print(f"  pg_dump -Fc:                                                                    median {fb:.2f}s")


def fixed_costs(pg_dump: str, work: Path, runs: int) -> tuple[list[float], list[float]]:
    """What schemasync adds whatever the size: an empty database, no upload, against pg_dump alone."""
    ours, base = [], []
    with scratch_database() as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
        env = {**os.environ, "DATABASE_URL": url, "NO_COLOR": "1", "SCHEMASYNC_BACKUP_DIR": str(work / "fixed")}
        for run in range(runs):
            for side in ("ours", "base") if run % 2 == 0 else ("base", "ours"):
                t0 = time.perf_counter()
                if side == "ours":
                    command = [sys.executable, "-m", "schemasync", "backup", "--no-upload", "--app-version", "1.0.0"]
                    subprocess.run(command, env=env, check=True, capture_output=True, cwd=work)
                    ours.append(time.perf_counter() - t0)
                    time.sleep(1.0)  # ids have one-second resolution
                else:
                    subprocess.run([pg_dump, "-Fc", "-f", str(work / "fixed.dump"), url], check=True)
                    base.append(time.perf_counter() - t0)
    return ours, base


def upload_only(dump: Path, endpoint: str, client: object, runs: int) -> tuple[list[float], list[float]]:
    """Time schemasync's verified upload and a plain upload of the same file, alternating, in this process."""
    import hashlib
    from datetime import UTC, datetime

    from schemasync.backups.format import Manifest
    from schemasync.backups.s3 import S3Store
    from schemasync.config import load_settings

    os.environ.update(CREDENTIALS)
    settings = load_settings(
        {"project_dir": str(dump.parent)},
        {
            "SCHEMASYNC_S3_BUCKET": "bench",
            "SCHEMASYNC_S3_ENDPOINT_URL": endpoint,
            "SCHEMASYNC_S3_ADDRESSING_STYLE": "path",
        },
    ).settings
    sha = hashlib.sha256(dump.read_bytes()).hexdigest()
    now = datetime.now(UTC)
    manifest = Manifest(
        id=now.strftime("%Y%m%dT%H%M%SZ"),
        database="bench",
        database_display="bench",
        environment="development",
        app_version="1.0.0",
        schema_version=None,
        schema_hash=None,
        server_version="15",
        pg_dump_version="15",
        tool_version="bench",
        file=dump.name,
        size=dump.stat().st_size,
        sha256=sha,
        started_at=now,
        finished_at=now,
    )
    store = S3Store(settings)
    store.preflight()  # client created outside the timing, like the baseline's
    ours, base = [], []
    for run in range(runs):
        for side in ("ours", "base") if run % 2 == 0 else ("base", "ours"):
            _empty(client)
            t0 = time.perf_counter()
            if side == "ours":
                store.put(dump, manifest)
                ours.append(time.perf_counter() - t0)
            else:
                client.upload_file(str(dump), "bench", "base/base.dump")  # type: ignore[attr-defined]
                base.append(time.perf_counter() - t0)
    return ours, base


def _keys() -> dict[str, str]:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }


def _empty(client: object) -> None:
    from tests.fixtures.s3 import empty_bucket

    empty_bucket(client, "bench")


if __name__ == "__main__":
    main()
