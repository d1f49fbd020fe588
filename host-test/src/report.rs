//! `malhost report`'s output: the hosts of a replay's output ranked by risk ([`Tally`]), each
//! with its level, score, alerts per rule, first and last seen, how the score was reached and
//! its strongest evidence, as an 80-column terminal table, JSON, CSV or a self-contained HTML
//! page.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::tally::{HostAlerts, Tally};

/// Width of the terminal table.
pub const WIDTH: usize = 80;

/// The output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for the terminal, 80 columns wide.
    Table,
    /// A JSON array, one object per host.
    Json,
    /// CSV with a header row, one row per host.
    Csv,
    /// One self-contained HTML page (no script, no external resource).
    Html,
}

/// One host of the report.
pub struct Row<'a> {
    /// Its place, from 1.
    pub rank: usize,
    /// Its address (or, for a mail alert without one, its sender).
    pub host: &'a str,
    /// What the alerts say of it.
    pub alerts: &'a HostAlerts,
}

/// The hosts ranked by risk, at most `top` (0: all).
pub fn rows(tally: &Tally, top: usize) -> Vec<Row<'_>> {
    let n = if top == 0 { usize::MAX } else { top };
    tally.top_hosts(n).into_iter().enumerate().map(|(i, (host, alerts))| Row { rank: i + 1, host, alerts }).collect()
}

fn level(a: &HostAlerts) -> &str {
    a.risk.as_ref().map_or("-", |r| r.level.as_str())
}

fn score(a: &HostAlerts) -> Option<f64> {
    a.risk.as_ref().map(|r| r.score)
}

fn rules_text(a: &HostAlerts) -> String {
    let mut v: Vec<(&String, &u64)> = a.rules.iter().collect();
    v.sort_by(|x, y| y.1.cmp(x.1).then_with(|| x.0.cmp(y.0)));
    v.iter().map(|(r, n)| format!("{r} {n}")).collect::<Vec<_>>().join(", ")
}

/// `2024-05-01T10:00:00.000Z` as `2024-05-01 10:00`.
fn minute(ts: &str) -> String {
    let t = ts.replacen('T', " ", 1);
    t.get(..16).map_or(t.clone(), str::to_owned)
}

/// `s` cut to `width` characters, with `…` when cut.
fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `text` wrapped at word boundaries into lines of at most `width` characters, the first
/// prefixed with `first`, the others with as many spaces.
fn wrap(first: &str, text: &str, width: usize) -> Vec<String> {
    let indent = " ".repeat(first.chars().count());
    let room = width.saturating_sub(indent.len()).max(10);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let word = fit(word, room);
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > room {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines.into_iter().enumerate().map(|(i, l)| format!("{}{l}", if i == 0 { first } else { &indent })).collect()
}

/// The terminal table: a header, then per host one line of figures and indented lines of
/// rules, explanation and evidence; every line at most [`WIDTH`] characters.
pub fn table(tally: &Tally, rows: &[Row]) -> String {
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str("no host was named by an alert\n");
        return out;
    }
    // 4 + 2 + 15 + 1 + 8 + 1 + 5 + 1 + 6 + 2 + 16 + 2 + 16 = 79 columns; a longer host (IPv6)
    // gets a line of its own.
    let header = format!("{:>4}  {:<15} {:<8} {:>5} {:>6}  {:<16}  {:<16}", "RANK", "HOST", "LEVEL", "SCORE", "ALERTS", "FIRST ALERT", "LAST ALERT");
    out.push_str(header.trim_end());
    out.push('\n');
    for r in rows {
        let a = r.alerts;
        let score = score(a).map_or("-".to_owned(), |s| format!("{s}"));
        let host = if r.host.chars().count() > 15 {
            out.push_str(&fit(&format!("{:>4}  {}", r.rank, r.host), WIDTH));
            out.push('\n');
            ""
        } else {
            r.host
        };
        let rank = if host.is_empty() { String::new() } else { r.rank.to_string() };
        let line = format!(
            "{:>4}  {:<15} {:<8} {:>5} {:>6}  {:<16}  {:<16}",
            rank,
            host,
            level(a),
            score,
            a.alerts,
            minute(&a.first_seen),
            minute(&a.last_seen)
        );
        out.push_str(&fit(line.trim_end(), WIDTH));
        out.push('\n');
        for l in wrap("      rules: ", &rules_text(a), WIDTH) {
            out.push_str(&l);
            out.push('\n');
        }
        if let Some(risk) = &a.risk {
            for l in wrap("      why:   ", &risk.explanation, WIDTH) {
                out.push_str(&l);
                out.push('\n');
            }
        }
        for (_, m) in &a.evidence {
            for l in wrap("      - ", m, WIDTH) {
                out.push_str(&l);
                out.push('\n');
            }
        }
    }
    let more = tally.by_host.len().saturating_sub(rows.len());
    if more > 0 {
        let _ = writeln!(out, "({more} more host(s); --top 0 lists all)");
    }
    out
}

fn row_json(r: &Row) -> Value {
    let a = r.alerts;
    json!({
        "rank": r.rank,
        "host": r.host,
        "level": a.risk.as_ref().map(|x| x.level.as_str()),
        "score": score(a),
        "alerts": a.alerts,
        "rules": a.rules,
        "first_seen": (!a.first_seen.is_empty()).then_some(a.first_seen.as_str()),
        "last_seen": (!a.last_seen.is_empty()).then_some(a.last_seen.as_str()),
        "explanation": a.risk.as_ref().map(|x| x.explanation.as_str()),
        "evidence": a.evidence.iter().map(|(s, m)| json!({"severity": s, "message": m})).collect::<Vec<_>>(),
    })
}

/// A JSON array, one object per host.
pub fn json(rows: &[Row]) -> String {
    let v: Vec<Value> = rows.iter().map(row_json).collect();
    serde_json::to_string_pretty(&v).unwrap_or_else(|_| "[]".to_owned()) + "\n"
}

/// CSV: a header row, then one row per host (rules as `rule n; …`, evidence joined by ` | `).
pub fn csv(rows: &[Row]) -> anyhow::Result<String> {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record(["rank", "host", "level", "score", "alerts", "rules", "first_seen", "last_seen", "explanation", "evidence"])?;
    for r in rows {
        let a = r.alerts;
        let evidence: Vec<&str> = a.evidence.iter().map(|(_, m)| m.as_str()).collect();
        w.write_record([
            r.rank.to_string(),
            r.host.to_owned(),
            a.risk.as_ref().map_or(String::new(), |x| x.level.clone()),
            score(a).map_or(String::new(), |s| s.to_string()),
            a.alerts.to_string(),
            rules_text(a).replace(", ", "; "),
            a.first_seen.clone(),
            a.last_seen.clone(),
            a.risk.as_ref().map_or(String::new(), |x| x.explanation.clone()),
            evidence.join(" | "),
        ])?;
    }
    Ok(String::from_utf8(w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?)
}

/// `s` with HTML's special characters escaped.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One HTML page, readable from a file without a server: a table of the hosts, each row with
/// its rules, explanation and evidence; colours by level.
pub fn html(tally: &Tally, rows: &[Row], title: &str) -> String {
    let mut body = String::new();
    for r in rows {
        let a = r.alerts;
        let lvl = level(a);
        let score = score(a).map_or("-".to_owned(), |s| s.to_string());
        let evidence: String = a.evidence.iter().map(|(_, m)| format!("<li>{}</li>", esc(m))).collect();
        let why = a.risk.as_ref().map_or(String::new(), |x| format!("<p class=\"why\">{}</p>", esc(&x.explanation)));
        let _ = write!(
            body,
            "<tr class=\"host level-{lvl}\"><td class=\"rank\">{}</td><td class=\"ip\">{}</td><td class=\"level\">{}</td><td class=\"score\">{score}</td><td class=\"alerts\">{}</td><td>{}</td><td>{}</td></tr>\n<tr class=\"detail\"><td></td><td colspan=\"6\"><p class=\"rules\">{}</p>{why}<ul>{evidence}</ul></td></tr>\n",
            r.rank,
            esc(r.host),
            esc(lvl),
            a.alerts,
            esc(&minute(&a.first_seen)),
            esc(&minute(&a.last_seen)),
            esc(&rules_text(a)),
        );
    }
    let more = tally.by_host.len().saturating_sub(rows.len());
    let more = if more > 0 { format!("<p>{more} more host(s) not shown.</p>") } else { String::new() };
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; padding: .3em .6em; vertical-align: top; }}
th {{ border-bottom: 2px solid #444; }}
tr.host td {{ border-top: 1px solid #ccc; font-weight: 600; }}
td.score, td.alerts, td.rank {{ text-align: right; }}
tr.detail td {{ font-size: 90%; color: #444; }}
tr.detail ul {{ margin: .2em 0 .6em 1.2em; padding: 0; }}
p {{ margin: .2em 0; }}
.level-critical td.level {{ background: #b71c1c; color: #fff; }}
.level-high td.level {{ background: #e65100; color: #fff; }}
.level-moderate td.level {{ background: #f9a825; }}
.level-low td.level {{ background: #fff59d; }}
</style></head>
<body>
<h1>{title}</h1>
<p>{hosts} host(s) named by {alerts} alert(s), ranked by risk (see the README's "Host verdicts").</p>
<table id="hosts">
<thead><tr><th>#</th><th>Host</th><th>Level</th><th>Score</th><th>Alerts</th><th>First alert</th><th>Last alert</th></tr></thead>
<tbody>
{body}</tbody></table>
{more}
</body></html>
"#,
        title = esc(title),
        hosts = tally.by_host.len(),
        alerts = tally.alerts,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally() -> Tally {
        let alert = |ts: &str, host: &str, rule: &str, sev: u8, msg: &str| {
            format!(r#"{{"@timestamp":"{ts}","event":{{"kind":"alert","dataset":"malhost.alert","severity":{sev}}},"rule":{{"id":"{rule}"}},"source":{{"ip":"{host}"}},"message":"{msg}"}}"#)
        };
        let risk = r#"{"@timestamp":"2024-05-02T10:00:00.000Z","event":{"kind":"alert","dataset":"malhost.alert","severity":3},"rule":{"id":"malhost.host_risk"},"source":{"ip":"10.0.0.9"},"message":"m","malhost":{"evidence":{"score":80.0,"level":"high","explanation":"fw.c2_port high 40 × 2 (3 alerts) = 80; sum 80; level high from 70"}}}"#;
        let mut t = Tally::default();
        let lines = [
            alert("2024-05-01T10:00:00.000Z", "10.0.0.5", "proxy.user_agent", 2, "10.0.0.5: no User-Agent"),
            alert("2024-05-01T10:00:00.000Z", "10.0.0.9", "fw.c2_port", 3, "10.0.0.9: 10 connections to 203.0.113.7 on TCP/5888 within 1h (10 denied); 5888 is not a business port, and this message is long enough to be cut at eighty columns"),
            alert("2024-05-02T10:00:00.000Z", "10.0.0.9", "fw.c2_port", 3, "10.0.0.9: <script>"),
            risk.to_owned(),
        ];
        t.add(lines.join("\n").as_bytes());
        t
    }

    #[test]
    fn the_table_ranks_by_risk_and_fits_80_columns() {
        let t = tally();
        let text = table(&t, &rows(&t, 0));
        assert!(text.lines().all(|l| l.chars().count() <= WIDTH), "{text}");
        let firsts: Vec<&str> = text.lines().filter(|l| !l.starts_with("      ") && !l.starts_with("RANK")).collect();
        assert!(firsts[0].contains("10.0.0.9") && firsts[0].contains("high") && firsts[0].contains("80"), "{text}");
        assert!(firsts[1].contains("10.0.0.5") && firsts[1].contains(" - "), "{text}");
        assert!(text.contains("      why:   fw.c2_port high 40 × 2 (3 alerts) = 80; sum 80; level high"), "{text}");
        assert!(text.contains("2024-05-01 10:00  2024-05-02 10:00"), "{text}");
    }

    #[test]
    fn json_csv_and_html_carry_the_same_hosts() {
        let t = tally();
        let r = rows(&t, 0);
        let j: Value = serde_json::from_str(&json(&r)).unwrap();
        assert_eq!(j[0]["host"], "10.0.0.9");
        assert_eq!(j[0]["level"], "high");
        assert_eq!(j[0]["rules"]["fw.c2_port"], 2);
        assert_eq!(j[1]["level"], Value::Null);
        let c = csv(&r).unwrap();
        let mut rd = ::csv::Reader::from_reader(c.as_bytes());
        let recs: Vec<::csv::StringRecord> = rd.records().map(Result::unwrap).collect();
        assert_eq!((&recs[0][1], &recs[0][2], &recs[0][5]), ("10.0.0.9", "high", "fw.c2_port 2"));
        let h = html(&t, &r, "malhost report");
        assert!(h.contains("&lt;script&gt;") && !h.contains("<script>"), "escaped evidence");
        assert_eq!(h.matches("<tr class=\"host ").count(), 2);
        assert!(h.find("10.0.0.9").unwrap() < h.find("10.0.0.5").unwrap());
    }

    #[test]
    fn a_long_host_gets_a_line_of_its_own() {
        let mut t = Tally::default();
        t.add(br#"{"@timestamp":"2024-05-01T10:00:00.000Z","event":{"kind":"alert","dataset":"malhost.alert","severity":2},"rule":{"id":"fw.c2_ip"},"source":{"ip":"2001:db8:1234:5678::42"},"message":"m"}"#);
        let text = table(&t, &rows(&t, 0));
        assert!(text.lines().all(|l| l.chars().count() <= WIDTH), "{text}");
        assert_eq!(text.lines().nth(1), Some("   1  2001:db8:1234:5678::42"), "{text}");
    }

    #[test]
    fn top_limits_the_hosts_and_says_how_many_more() {
        let t = tally();
        let text = table(&t, &rows(&t, 1));
        assert!(text.contains("(1 more host(s); --top 0 lists all)"), "{text}");
    }
}
