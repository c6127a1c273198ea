//! The dashboard page: server-rendered HTML with charts drawn as inline SVG,
//! so nothing is fetched from anywhere else.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use serde::Serialize;
use tera::Tera;

use crate::ledger::LedgerSnapshot;
use crate::realtime::Snapshot;
use crate::report::{Point, Report};

fn tera() -> &'static Tera {
    static TERA: OnceLock<Tera> = OnceLock::new();
    TERA.get_or_init(|| {
        let mut tera = Tera::default();
        // Compiled into the binary; a broken template fails the unit tests.
        if let Err(error) = tera.add_raw_templates([
            (
                "dashboard.html",
                include_str!("../templates/dashboard.html"),
            ),
            ("closed.html", include_str!("../templates/closed.html")),
        ]) {
            tracing::error!(%error, "dashboard templates do not compile");
        }
        tera
    })
}

#[derive(Serialize)]
struct Table<'a> {
    title: &'static str,
    column: &'static str,
    rows: &'a [(String, i64)],
}

/// Renders a page with a fresh nonce: its one `<style>` and `<script>`
/// carry it, and the Content-Security-Policy allows nothing else inline.
fn render(name: &str, context: &tera::Context) -> HttpResponse {
    let nonce = hex::encode(rand::random::<[u8; 16]>());
    let mut context = context.clone();
    context.insert("nonce", &nonce);
    match tera().render(name, &context) {
        Ok(html) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header(("cache-control", "no-store"))
            .insert_header(("x-frame-options", "DENY"))
            .insert_header(("x-content-type-options", "nosniff"))
            .insert_header(("referrer-policy", "same-origin"))
            .insert_header((
                "content-security-policy",
                format!(
                    "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; \
                     img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
                     form-action 'self'; frame-ancestors 'none'"
                ),
            ))
            .insert_header((
                "permissions-policy",
                "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
            ))
            .body(html),
        Err(error) => {
            tracing::error!(?error, "cannot render the dashboard");
            HttpResponse::InternalServerError()
                .body("The dashboard could not be drawn; see the service log.")
        }
    }
}

pub fn page(report: &Report, realtime: &Snapshot) -> HttpResponse {
    let mut context = tera::Context::new();
    context.insert("report", report);
    context.insert("range", report.range.name());
    context.insert("chart", &chart(&report.series));
    context.insert("realtime", realtime);
    context.insert("sparkline", &sparkline(&realtime.per_minute));
    let top = &report.top;
    let tables = [
        Table {
            title: "Top pages",
            column: "Path",
            rows: &top.pages,
        },
        Table {
            title: "Top comic pages",
            column: "Page id",
            rows: &top.comics,
        },
        Table {
            title: "Entry pages",
            column: "Path",
            rows: &top.entries,
        },
        Table {
            title: "Referrers",
            column: "Site",
            rows: &top.referrers,
        },
        Table {
            title: "Referring pages",
            column: "Page",
            rows: &top.referring_pages,
        },
        Table {
            title: "Search terms",
            column: "Terms",
            rows: &top.searches,
        },
        Table {
            title: "Browsers",
            column: "Browser",
            rows: &top.browsers,
        },
        Table {
            title: "Operating systems",
            column: "System",
            rows: &top.systems,
        },
        Table {
            title: "Screen sizes",
            column: "Device",
            rows: &top.devices,
        },
        Table {
            title: "Feed readers",
            column: "Reader",
            rows: &top.feeds,
        },
        Table {
            title: "Bots and crawlers (not counted as readers)",
            column: "Agent",
            rows: &top.bots,
        },
    ];
    context.insert("tables", &tables);
    render("dashboard.html", &context)
}

pub fn closed() -> HttpResponse {
    let mut response = render("closed.html", &tera::Context::new());
    *response.status_mut() = actix_web::http::StatusCode::UNAUTHORIZED;
    response
}

pub fn unavailable(ledger: &LedgerSnapshot) -> HttpResponse {
    HttpResponse::ServiceUnavailable()
        .insert_header(("retry-after", "5"))
        .content_type("text/plain; charset=utf-8")
        .body(format!(
            "The analytics database is unavailable, so figures cannot be shown right now.\n\
             No hit is lost: {} are waiting in the spool and will be written when it is back.\n",
            ledger.lag
        ))
}

const W: f64 = 720.0;
const H: f64 = 220.0;
const PAD_LEFT: f64 = 48.0;
const PAD_BOTTOM: f64 = 28.0;

/// Bars for page views, a line for unique visitors, with a labelled axis.
pub fn chart(series: &[Point]) -> String {
    let max = series
        .iter()
        .map(|p| p.views.max(p.uniques))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let n = series.len().max(1) as f64;
    let plot_w = W - PAD_LEFT - 8.0;
    let plot_h = H - PAD_BOTTOM - 10.0;
    let step = plot_w / n;
    let y = |v: i64| 10.0 + plot_h - (v as f64 / max) * plot_h;
    let mut svg = format!(
        "<svg viewBox=\"0 0 {W} {H}\" class=\"chart\" role=\"img\" aria-labelledby=\"chart-title\">\
         <title id=\"chart-title\">Page views (bars) and unique visitors (line)</title>"
    );
    for tick in 0..=4 {
        let value = (max * f64::from(tick) / 4.0).round() as i64;
        let ty = y(value);
        svg.push_str(&format!(
            "<line x1=\"{PAD_LEFT}\" x2=\"{W}\" y1=\"{ty:.1}\" y2=\"{ty:.1}\" class=\"grid\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"axis\" text-anchor=\"end\">{value}</text>",
            PAD_LEFT - 6.0,
            ty + 4.0
        ));
    }
    let label_every = (series.len() / 8).max(1);
    let mut line = String::new();
    for (i, point) in series.iter().enumerate() {
        let x = PAD_LEFT + step * i as f64;
        let top = y(point.views);
        svg.push_str(&format!(
            "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{:.1}\" class=\"bar\"><title>{}: {} views, {} visitors</title></rect>",
            x + step * 0.15,
            step * 0.7,
            (10.0 + plot_h - top).max(0.0),
            tera::escape_html(&point.label),
            point.views,
            point.uniques
        ));
        line.push_str(&format!(
            "{}{:.1},{:.1}",
            if i == 0 { "" } else { " " },
            x + step / 2.0,
            y(point.uniques)
        ));
        if i % label_every == 0 {
            svg.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" class=\"axis\" text-anchor=\"middle\">{}</text>",
                x + step / 2.0,
                H - 8.0,
                tera::escape_html(&point.label)
            ));
        }
    }
    svg.push_str(&format!(
        "<polyline points=\"{line}\" class=\"line\"/></svg>"
    ));
    svg
}

/// Views per minute over the last half hour.
pub fn sparkline(per_minute: &[u64]) -> String {
    let max = per_minute.iter().copied().max().unwrap_or(0).max(1) as f64;
    let step = 300.0 / per_minute.len().max(1) as f64;
    let mut svg = String::from(
        "<svg viewBox=\"0 0 300 60\" class=\"spark\" role=\"img\" aria-label=\"Page views per minute, last 30 minutes\">",
    );
    for (i, views) in per_minute.iter().enumerate() {
        let h = (*views as f64 / max) * 56.0;
        svg.push_str(&format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" class=\"bar\"/>",
            step * i as f64,
            58.0 - h,
            step * 0.8
        ));
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_compile_and_the_chart_escapes_labels() {
        assert!(tera().get_template_names().count() >= 2);
        let svg = chart(&[Point {
            start: 0,
            label: "<b>".into(),
            views: 3,
            uniques: 1,
        }]);
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
    }
}
