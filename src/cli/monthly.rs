//! `gridline report monthly`: the monthly topic (每月一题) report of the city or of one district, written to a
//! folder as `report.html` (one file: tables, and the maps embedded as `data:` URIs; nothing fetched from anywhere,
//! so it reads offline), `report.md` (the same tables, the maps as the PNG files beside it), `choropleth.png` and,
//! when a finished hot spot scan is visible, `hotspots.png`. Progress goes to standard error, step by step.

use crate::domain::access::{Principal, Role};
use crate::http::monthly::RankingDto;
use crate::service::analytics::monthly::RankingRequest;
use crate::service::analytics::report::{self, MonthlyReport, NO_CALLS};
use anyhow::Context;
use base64::Engine;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

/// How many topics the report's ranking table lists.
pub const TOPICS_LISTED: usize = 30;
/// How many streets the report's table of busiest streets lists.
pub const STREETS_LISTED: usize = 15;
/// How many clusters the report's table lists.
pub const CLUSTERS_LISTED: usize = 20;

/// Runs `report monthly`.
pub fn run(
    month: &str,
    district: Option<&str>,
    out: &Path,
    width: u32,
    db: &crate::config::DbArgs,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let step = |n: usize, what: &str| {
        eprintln!("[{n}/5] {what} ({:.1} s)", started.elapsed().as_secs_f64())
    };
    step(1, "opening the database and the place index");
    let state = crate::http::state::prepare(&db.database_url()?, 2)?;
    let mut user = Principal::machine("report", "gridline report", Role::Admin);
    if let Some(d) = district {
        user.role = Role::Leader;
        user.places = vec![d.to_owned()];
    }
    let req = RankingRequest {
        month: Some(month.to_owned()),
        level: Some(
            if district.is_some() {
                "district"
            } else {
                "city"
            }
            .into(),
        ),
        district: district.map(str::to_owned),
    };
    let mut k = 1;
    let rep = report::monthly_report(
        &state.db,
        &state.index,
        &user,
        &req,
        super::now(),
        width,
        |what| {
            k += 1;
            step(k, what);
        },
    )
    .map_err(|e| match e.code() {
        Some(code) => anyhow::anyhow!("{code}: {e}"),
        None => anyhow::Error::new(e).context("making the monthly report"),
    })?;
    step(5, "writing report.html, report.md and the maps");
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let write = |name: &str, bytes: &[u8]| {
        let p = out.join(name);
        std::fs::write(&p, bytes).with_context(|| format!("cannot write {}", p.display()))
    };
    write("choropleth.png", &rep.choropleth)?;
    if let Some(h) = &rep.hotspots {
        write("hotspots.png", &h.png)?;
    }
    write("report.html", html(&rep).as_bytes())?;
    write("report.md", markdown(&rep).as_bytes())?;
    let r = &rep.ranking;
    eprintln!(
        "{} {}: {} tickets, {} topics, {} candidates, {} written to {} in {:.1} s",
        r.place_name,
        r.month,
        r.tickets,
        r.topics.len(),
        r.candidates.len(),
        if rep.hotspots.is_some() {
            "2 maps"
        } else {
            "1 map (no finished hot spot scan)"
        },
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Text made safe for HTML.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Text made safe for a Markdown table cell.
fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "–".into(), |x| format!("{:.1} %", x * 100.0))
}

fn change(x: Option<f64>) -> String {
    x.map_or_else(|| "–".into(), |x| format!("{x:+.1} %"))
}

/// The report's tables as rows of cells: (title, header, rows).
type Table = (String, Vec<&'static str>, Vec<Vec<String>>);

fn tables(rep: &MonthlyReport) -> Vec<Table> {
    let r = RankingDto::from(&rep.ranking);
    let mut out = Vec::new();
    out.push((
        "下月每月一题候选 Candidates for next month's list".to_owned(),
        vec!["#", "topic", "tickets", "growth", "difficulty", "score"],
        r.candidates
            .iter()
            .map(|c| {
                vec![
                    c.rank.to_string(),
                    format!("{} {}", c.code, c.name),
                    c.tickets.to_string(),
                    format!("×{:.2}", c.growth),
                    format!("{:.2}", c.difficulty),
                    format!("{:.1}", c.score),
                ]
            })
            .collect(),
    ));
    out.push((
        format!("诉求量排名 Topics by calls (top {TOPICS_LISTED})"),
        vec![
            "#",
            "topic",
            "tickets",
            "share",
            "vs previous month",
            "vs last year",
            "repeat rate",
            "assessed",
            "响应率",
            "解决率",
            "满意率",
            "where (streets)",
        ],
        r.topics
            .iter()
            .take(TOPICS_LISTED)
            .map(|t| {
                vec![
                    t.rank.to_string(),
                    format!("{} {}", t.code, t.name),
                    t.tickets.to_string(),
                    pct(t.share),
                    change(t.change_previous_pct),
                    change(t.change_last_year_pct),
                    pct(t.repeat_rate),
                    t.assessed_tickets.to_string(),
                    pct(t.response_rate),
                    pct(t.resolution_rate),
                    pct(t.satisfaction_rate),
                    t.places
                        .iter()
                        .map(|p| format!("{} {:.0} %", p.name, p.share * 100.0))
                        .collect::<Vec<_>>()
                        .join(", "),
                ]
            })
            .collect(),
    ));
    let mut streets: Vec<_> = rep
        .ranking
        .streets
        .iter()
        .filter(|s| s.tickets > 0)
        .collect();
    streets.sort_by(|a, b| b.tickets.cmp(&a.tickets).then_with(|| a.code.cmp(&b.code)));
    out.push((
        format!("诉求最多的街乡 Streets with most calls (top {STREETS_LISTED})"),
        vec!["#", "street", "code", "tickets"],
        streets
            .iter()
            .take(STREETS_LISTED)
            .enumerate()
            .map(|(k, s)| {
                vec![
                    (k + 1).to_string(),
                    s.name.clone(),
                    s.code.clone(),
                    s.tickets.to_string(),
                ]
            })
            .collect(),
    ));
    if let Some(h) = &rep.hotspots {
        let names: std::collections::HashMap<&str, &str> = r
            .topics
            .iter()
            .map(|t| (t.code.as_str(), t.name.as_str()))
            .collect();
        out.push((
            format!(
                "热点聚集 Hot spot clusters of scan {} ({} to {})",
                h.scan_id, h.from, h.to
            ),
            vec![
                "#",
                "topic",
                "centre",
                "units",
                "calls (counted)",
                "expected",
                "strongest z",
                "bin",
            ],
            h.clusters
                .iter()
                .take(CLUSTERS_LISTED)
                .map(|c| {
                    vec![
                        c.rank.to_string(),
                        format!("{} {}", c.topic, names.get(c.topic.as_str()).unwrap_or(&"")),
                        c.centre.code.clone(),
                        c.units.len().to_string(),
                        format!("{} ({})", c.observed, c.counted),
                        format!("{:.1}", c.expected),
                        format!("{:.2}", c.strongest_z),
                        match c.bin {
                            3 => "99 %".to_owned(),
                            _ => "95 %".to_owned(),
                        },
                    ]
                })
                .collect(),
        ));
    }
    out
}

const DEFINITIONS: &[&str] = &[
    "Tickets (诉求量): hotline calls received in the month (Beijing days), from the kept counts; cases: problems opened in the month.",
    "Growth: change of tickets on the month before and on the same month a year before (– when that month had none).",
    "Repeat rate (重复诉求率) = (tickets − cases opened by a call in the month) ÷ tickets: the share of calls that joined a problem already known.",
    "响应率 / 解决率 / 满意率: the assessment's definitions (一份卷子) over the tickets of the cases first dispatched in the month (\"assessed\").",
    "Where: the streets with most of the topic's calls, with their share of the topic's calls.",
    "Candidates: score = tickets × growth × difficulty; growth = (tickets + 1) ÷ (previous month + 1), bounded to 0.5–2; difficulty = 1 − 解决率 (the scope's rate when the topic has no callback yet), at least 0.05; class 99 (其他) is never a candidate.",
    "Choropleth: tickets per street in the month, quantile classes; grey: no calls. Hot spot map: the clusters of the newest finished Gi* scan (dark red 99 %, orange 95 %), numbered by rank.",
];

fn summary(rep: &MonthlyReport) -> String {
    let r = &rep.ranking;
    format!(
        "{} tickets, {} cases; 响应率 {}, 解决率 {}, 满意率 {}{}",
        r.tickets,
        r.cases,
        pct(r.rates.response),
        pct(r.rates.resolution),
        pct(r.rates.satisfaction),
        if r.partial {
            " — the month is still running"
        } else {
            ""
        }
    )
}

fn title(rep: &MonthlyReport) -> String {
    let r = &rep.ranking;
    format!(
        "每月一题 Monthly topic report — {} ({}), {}",
        r.place_name, r.place, r.month
    )
}

fn legend_rows(rep: &MonthlyReport) -> Vec<(String, String, usize)> {
    let mut rows = vec![(NO_CALLS.hex(), "0".to_owned(), rep.streets_without_calls)];
    rows.extend(rep.legend.iter().map(|c| {
        (
            c.colour.hex(),
            if c.from == c.to {
                c.to.to_string()
            } else {
                format!("{}–{}", c.from, c.to)
            },
            c.streets,
        )
    }));
    rows
}

/// The HTML report: one file, the maps embedded.
fn html(rep: &MonthlyReport) -> String {
    let b64 = |png: &[u8]| base64::engine::general_purpose::STANDARD.encode(png);
    let mut h = String::new();
    let t = esc(&title(rep));
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n<title>{t}</title>\n<style>\n\
         body{{font-family:sans-serif;margin:2em;color:#222}} table{{border-collapse:collapse;margin:1em 0}}\n\
         th,td{{border:1px solid #ccc;padding:3px 6px;text-align:left}} th{{background:#f2f2f2}}\n\
         td.n{{text-align:right}} .sw{{display:inline-block;width:1.6em;height:1em;border:1px solid #444}}\n\
         img{{max-width:100%;border:1px solid #ccc}}\n</style>\n</head>\n<body>\n<h1>{t}</h1>\n<p>{}</p>\n",
        esc(&summary(rep))
    );
    for (title, head, rows) in tables(rep) {
        let _ = write!(h, "<h2>{}</h2>\n<table>\n<tr>", esc(&title));
        for c in head {
            let _ = write!(h, "<th>{}</th>", esc(c));
        }
        h.push_str("</tr>\n");
        if rows.is_empty() {
            h.push_str("<tr><td colspan=\"12\">none</td></tr>\n");
        }
        for row in rows {
            h.push_str("<tr>");
            for c in row {
                let _ = write!(h, "<td>{}</td>", esc(&c));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</table>\n");
    }
    let _ = write!(
        h,
        "<h2>诉求分布 Calls per street</h2>\n<img alt=\"choropleth of calls per street\" src=\"data:image/png;base64,{}\">\n<table>\n<tr><th>colour</th><th>tickets</th><th>streets</th></tr>\n",
        b64(&rep.choropleth)
    );
    for (colour, range, n) in legend_rows(rep) {
        let _ = writeln!(
            h,
            "<tr><td><span class=\"sw\" style=\"background:{colour}\"></span></td><td>{}</td><td class=\"n\">{n}</td></tr>",
            esc(&range)
        );
    }
    h.push_str("</table>\n<h2>热点 Hot spots</h2>\n");
    match &rep.hotspots {
        Some(m) => {
            let _ = writeln!(
                h,
                "<p>Scan {} ({} layer, {} to {}): {} clusters.</p>\n<img alt=\"hot spot clusters\" src=\"data:image/png;base64,{}\">",
                esc(&m.scan_id),
                esc(&m.layer),
                m.from,
                m.to,
                m.clusters.len(),
                b64(&m.png)
            );
        }
        None => h.push_str("<p>No finished hot spot scan covers this place yet.</p>\n"),
    }
    h.push_str("<h2>定义 Definitions</h2>\n<ul>\n");
    for d in DEFINITIONS {
        let _ = writeln!(h, "<li>{}</li>", esc(d));
    }
    h.push_str("</ul>\n</body>\n</html>\n");
    h
}

/// The Markdown report: the maps are the PNG files beside it.
fn markdown(rep: &MonthlyReport) -> String {
    let mut m = String::new();
    let _ = write!(m, "# {}\n\n{}\n\n", md(&title(rep)), md(&summary(rep)));
    for (title, head, rows) in tables(rep) {
        let _ = write!(m, "## {}\n\n| {} |\n|", md(&title), head.join(" | "));
        for _ in &head {
            m.push_str(" --- |");
        }
        m.push('\n');
        for row in rows {
            let cells: Vec<String> = row.iter().map(|c| md(c)).collect();
            let _ = writeln!(m, "| {} |", cells.join(" | "));
        }
        m.push('\n');
    }
    m.push_str("## 诉求分布 Calls per street\n\n![calls per street](choropleth.png)\n\n| tickets | streets |\n| --- | --- |\n");
    for (_, range, n) in legend_rows(rep) {
        let _ = writeln!(m, "| {range} | {n} |");
    }
    m.push_str("\n## 热点 Hot spots\n\n");
    match &rep.hotspots {
        Some(h) => {
            let _ = write!(
                m,
                "Scan {} ({} layer, {} to {}): {} clusters.\n\n![hot spot clusters](hotspots.png)\n\n",
                h.scan_id,
                h.layer,
                h.from,
                h.to,
                h.clusters.len()
            );
        }
        None => m.push_str("No finished hot spot scan covers this place yet.\n\n"),
    }
    m.push_str("## 定义 Definitions\n\n");
    for d in DEFINITIONS {
        let _ = writeln!(m, "- {d}");
    }
    m
}
