//! A hand-written SVG bar chart of the ratios (log scale, bars grow from 1×).

use std::fmt::Write as _;

use crate::report::Group;

const W: f64 = 980.0;
const X0: f64 = 150.0; // left edge of the plot
const X1: f64 = 900.0; // right edge of the plot
const LO: f64 = 0.1;
const HI: f64 = 200.0;
const BAR: f64 = 13.0;
const GAP: f64 = 3.0;
const TITLE: f64 = 22.0;
const GROUP_GAP: f64 = 14.0;

fn x(v: f64) -> f64 {
    let v = v.clamp(LO, HI);
    X0 + (v.ln() - LO.ln()) / (HI.ln() - LO.ln()) * (X1 - X0)
}

/// A contender's colour; its thread-safe pointer ("gc-core sync::Gc",
/// "dumpster::sync", ...) gets the crate's.
fn color(name: &str) -> &'static str {
    let krate = name.split([' ', ':']).next().unwrap_or(name);
    match krate {
        "gc-core" => "#d62728",
        "gc" => "#1f77b4",
        "bacon_rajan_cc" => "#ff7f0e",
        "rust-cc" => "#2ca02c",
        "dumpster" => "#9467bd",
        "gcmodule" => "#8c564b",
        _ => "#7f7f7f",
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub fn chart(groups: &[Group]) -> String {
    let top = 56.0;
    let body: f64 = groups
        .iter()
        .map(|g| TITLE + g.bars.len() as f64 * (BAR + GAP) + GROUP_GAP)
        .sum();
    let h = top + body + 40.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="DejaVu Sans, Arial, sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    let _ = writeln!(
        s,
        r#"<text x="{X0}" y="20" font-size="15" font-weight="bold">gc-core and peers: ratios (log scale; lower is better; bars grow from 1×)</text>"#
    );
    let _ = writeln!(
        s,
        r##"<text x="{X0}" y="38" fill="#555">dashed line = gc-core's SPEC target; ratios are medians of paired (× Rc, × Arc) or same-round (× fastest peer, × dumpster::sync) ratios; (ms) groups: durations</text>"##
    );
    // Grid.
    let grid_bottom = top + body;
    for t in [
        0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0,
    ] {
        let gx = x(t);
        let (stroke, wdt) = if t == 1.0 {
            ("#000000", 1.2)
        } else {
            ("#dddddd", 1.0)
        };
        let _ = writeln!(
            s,
            r#"<line x1="{gx:.1}" y1="{top}" x2="{gx:.1}" y2="{grid_bottom}" stroke="{stroke}" stroke-width="{wdt}"/>"#
        );
        let _ = writeln!(
            s,
            r#"<text x="{gx:.1}" y="{:.1}" text-anchor="middle">{t}×</text>"#,
            grid_bottom + 16.0
        );
    }
    let mut y = top;
    for g in groups {
        let _ = writeln!(
            s,
            r#"<text x="8" y="{:.1}" font-weight="bold">{}</text>"#,
            y + 15.0,
            esc(&g.title)
        );
        y += TITLE;
        let y_start = y;
        for (name, v) in &g.bars {
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                X0 - 6.0,
                y + BAR - 3.0,
                esc(name)
            );
            match v {
                Ok(r) => {
                    let (a, b) = if *r >= 1.0 {
                        (x(1.0), x(*r))
                    } else {
                        (x(*r), x(1.0))
                    };
                    let _ = writeln!(
                        s,
                        r#"<rect x="{a:.1}" y="{y:.1}" width="{:.1}" height="{BAR}" fill="{}"/>"#,
                        (b - a).max(1.0),
                        color(name)
                    );
                    let (lx, anchor) = if *r >= 1.0 {
                        (b + 4.0, "start")
                    } else {
                        (a - 4.0, "end")
                    };
                    let _ = writeln!(
                        s,
                        r#"<text x="{lx:.1}" y="{:.1}" text-anchor="{anchor}">{r:.2}{}</text>"#,
                        y + BAR - 3.0,
                        esc(g.unit)
                    );
                }
                Err(e) => {
                    let _ = writeln!(
                        s,
                        r##"<text x="{:.1}" y="{:.1}" fill="#a00000" font-weight="bold">{}</text>"##,
                        x(1.0) + 4.0,
                        y + BAR - 3.0,
                        esc(if e.is_empty() { "n/a" } else { e })
                    );
                }
            }
            y += BAR + GAP;
        }
        if let Some(t) = g.target {
            let tx = x(t);
            let _ = writeln!(
                s,
                r##"<line x1="{tx:.1}" y1="{:.1}" x2="{tx:.1}" y2="{:.1}" stroke="#d62728" stroke-width="1.5" stroke-dasharray="4,3"/>"##,
                y_start - 3.0,
                y
            );
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{:.1}" fill="#d62728" font-size="10">target {t:.2}{}</text>"##,
                tx + 3.0,
                y_start - 4.0,
                esc(g.unit)
            );
        }
        y += GROUP_GAP;
    }
    s.push_str("</svg>\n");
    s
}
