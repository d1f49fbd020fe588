#!/usr/bin/env python3
"""Training throughput: `malhost train` against DuckDB computing the same lists in SQL.

Generates the paper-scale synthetic data set with `malhost synth`, times `malhost train` and
the SQL below on the same files (both single runs after a warm-up read of the files), checks
that both list the same values, and measures malhost's peak memory when the normal log grows
4x (4x the days, same hosts). Needs `pip install duckdb` and a release build:

    cargo build --release -p malhost-host
    python3 benches/train_vs_duckdb.py [--samples 20000] [--hosts 3000] [--days 3]

The SQL normalises URLs with regular expressions (scheme and host lower-case, default port,
query and fragment dropped), close to but not exactly the `url` crate's WHATWG parsing.
"""
import argparse, json, os, resource, subprocess, sys, tempfile, time

SQL = """
WITH mal AS (
  SELECT malhost.sample AS s, observer.type AS kind, network.transport AS proto,
         destination.port AS port, destination.ip AS ip, url."full" AS u
  FROM read_json('{mal}', format='newline_delimited', ignore_errors=true)
), nor AS (
  SELECT source.ip AS h, observer.type AS kind, network.transport AS proto,
         destination.port AS port, destination.ip AS ip, url."full" AS u
  FROM read_json('{nor}', format='newline_delimited', ignore_errors=true)
), mv AS (
  SELECT s, 'dst_ip_tcp80' AS f, ip AS v FROM mal WHERE kind='firewall' AND proto='tcp' AND port=80
  UNION ALL SELECT s, 'dst_port', proto || '/' || port FROM mal WHERE kind='firewall' AND proto IN ('tcp','udp')
  UNION ALL SELECT s, 'http_url', regexp_replace(lower(regexp_extract(u, '^([A-Za-z]+://[^/?#]+)')), ':80$', '')
                     || coalesce(nullif(regexp_extract(u, '^[A-Za-z]+://[^/?#]+([^?#]*)', 1), ''), '/')
            FROM mal WHERE kind='proxy'
), nv AS (
  SELECT h, 'dst_ip_tcp80' AS f, ip AS v FROM nor WHERE kind='firewall' AND proto='tcp' AND port=80
  UNION ALL SELECT h, 'dst_port', proto || '/' || port FROM nor WHERE kind='firewall' AND proto IN ('tcp','udp')
  UNION ALL SELECT h, 'http_url', regexp_replace(lower(regexp_extract(u, '^([A-Za-z]+://[^/?#]+)')), ':80$', '')
                     || coalesce(nullif(regexp_extract(u, '^[A-Za-z]+://[^/?#]+([^?#]*)', 1), ''), '/')
            FROM nor WHERE kind='proxy'
), m AS (SELECT f, v, count(DISTINCT s) AS m FROM mv GROUP BY f, v),
   n AS (SELECT f, v, count(DISTINCT h) AS n FROM nv SEMI JOIN m USING (f, v) GROUP BY f, v),
   totals AS (SELECT (SELECT count(DISTINCT s) FROM mal) AS mt, (SELECT count(DISTINCT h) FROM nor WHERE h IS NOT NULL) AS nt)
SELECT m.f, m.v, m.m, coalesce(n.n, 0) AS n
FROM m LEFT JOIN n USING (f, v), totals
WHERE m.m::DOUBLE / mt > {t_m} AND coalesce(n.n, 0)::DOUBLE / nt < {t_l}
"""

def run(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t

def peak_rss_mib(cmd):
    out = subprocess.run(["/usr/bin/env", "python3", "-c",
        "import resource,subprocess,sys; subprocess.run(sys.argv[1:],check=True,stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"] + cmd, check=True, capture_output=True, text=True)
    return int(out.stdout.strip()) / 1024

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=20000)
    ap.add_argument("--hosts", type=int, default=3000)
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--malhost", default="target/release/malhost")
    a = ap.parse_args()
    import duckdb
    t_m, t_l = 0.001, 0.005
    with tempfile.TemporaryDirectory() as d:
        small, big = os.path.join(d, "small"), os.path.join(d, "big")
        subprocess.run([a.malhost, "synth", "--samples", str(a.samples), "--hosts", str(a.hosts), "--days", str(a.days), "--out-dir", small], check=True, stderr=subprocess.DEVNULL)
        subprocess.run([a.malhost, "synth", "--samples", str(a.samples), "--hosts", str(a.hosts), "--days", str(4 * a.days), "--out-dir", big], check=True, stderr=subprocess.DEVNULL)
        mal, nor = os.path.join(small, "malware.jsonl"), os.path.join(small, "normal.jsonl")
        size = os.path.getsize(mal) + os.path.getsize(nor)
        for p in (mal, nor):
            open(p, "rb").read()  # warm the page cache for both contenders
        lists = os.path.join(d, "lists.json")
        train = [a.malhost, "train", "--malware", mal, "--normal", nor, "--t-m", str(t_m), "--t-l", str(t_l), "-o", lists]
        t_malhost = run(train)
        con = duckdb.connect()
        con.execute("SET threads TO 1")
        q = SQL.format(mal=mal, nor=nor, t_m=t_m, t_l=t_l)
        t = time.perf_counter(); rows = con.execute(q).fetchall(); t_duck1 = time.perf_counter() - t
        con.execute("RESET threads")
        t = time.perf_counter(); rows = con.execute(q).fetchall(); t_duck = time.perf_counter() - t
        doc = json.load(open(lists))
        ours = {(f["field"], v["value"]) for f in doc["fields"] for v in f["values"]}
        theirs = {(r[0], r[1]) for r in rows}
        rss_small = peak_rss_mib(train)
        big_train = [a.malhost, "train", "--malware", os.path.join(big, "malware.jsonl"), "--normal", os.path.join(big, "normal.jsonl"), "-o", os.path.join(d, "l2.json")]
        rss_big = peak_rss_mib(big_train)
        nbig = os.path.getsize(os.path.join(big, "normal.jsonl"))
        print(f"input: {size/1e6:.0f} MB ({a.samples} samples, {a.hosts} hosts, {a.days} days)")
        print(f"malhost train (1 thread):       {t_malhost:6.2f} s  {size/1e6/t_malhost:7.1f} MB/s")
        print(f"DuckDB, 1 thread:               {t_duck1:6.2f} s  {size/1e6/t_duck1:7.1f} MB/s   malhost/DuckDB = {t_malhost/t_duck1:.2f}")
        print(f"DuckDB, all {os.cpu_count()} threads:          {t_duck:6.2f} s  {size/1e6/t_duck:7.1f} MB/s   malhost/DuckDB = {t_malhost/t_duck:.2f}")
        print(f"same lists: {ours == theirs} (malhost {len(ours)} values, DuckDB {len(theirs)}; only in malhost {len(ours-theirs)}, only in DuckDB {len(theirs-ours)})")
        print(f"malhost peak RSS: {rss_small:.1f} MiB with the normal log at {os.path.getsize(nor)/1e6:.0f} MB, {rss_big:.1f} MiB at {nbig/1e6:.0f} MB (4x)")

if __name__ == "__main__":
    main()
