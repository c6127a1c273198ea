//! `/admin/queue`: the update cadence, hiatus mode, and a calendar of what
//! goes live when.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Datelike, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::view::{self, AdminChrome};
use crate::auth::Session;
use crate::comics::settings;
use crate::error::AppError;
use crate::queue::{self, Buffer, DAY_NAMES};
use crate::startup::AppState;

#[derive(Serialize)]
struct QueueTemplate {
    chrome: AdminChrome,
    days: Vec<DayOption>,
    time: String,
    buffer_minimum: u32,
    hiatus: bool,
    hiatus_message: String,
    buffer: Buffer,
    weeks: Vec<Vec<CalendarDay>>,
    timezone: String,
    timezones: Vec<&'static str>,
}

#[derive(Serialize)]
struct DayOption {
    value: &'static str,
    label: &'static str,
    checked: bool,
}

#[derive(Serialize)]
struct CalendarDay {
    label: String,
    iso: String,
    today: bool,
    update_day: bool,
    pages: Vec<CalendarPage>,
}

#[derive(Serialize)]
struct CalendarPage {
    id: i64,
    title: String,
    time: String,
}

const LABELS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

pub async fn show(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let chrome = AdminChrome::new(&state, &session, &req, "queue").await?;
    let map = settings::load_map(&state.db).await?;
    let cadence = queue::Cadence::from_settings(&map);
    let scheduled = queue::scheduled(&state.db, crate::db::now()).await?;
    let buffer = queue::buffer(&cadence, &scheduled);
    // Six weeks from this week's Monday, in the author's zone.
    let now_local = Utc::now().with_timezone(&cadence.tz);
    let today = now_local.date_naive();
    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let weeks = (0..6)
        .map(|w| {
            (0..7)
                .map(|d| {
                    let date = monday + Duration::days(w * 7 + d);
                    CalendarDay {
                        label: date.format("%a %-d %b").to_string(),
                        iso: date.format("%Y-%m-%d").to_string(),
                        today: date == today,
                        // A slot still to come: later days, or today before the update time.
                        update_day: !cadence.hiatus
                            && cadence.days.contains(&date.weekday())
                            && (date > today || (date == today && now_local.time() < cadence.time)),
                        pages: scheduled
                            .iter()
                            .filter_map(|s| {
                                let local = chrono::DateTime::from_timestamp(s.live_at, 0)?
                                    .with_timezone(&cadence.tz);
                                (local.date_naive() == date).then(|| CalendarPage {
                                    id: s.id,
                                    title: s.title.clone(),
                                    time: local.format("%H:%M").to_string(),
                                })
                            })
                            .collect(),
                    }
                })
                .collect()
        })
        .collect();
    let ctx = QueueTemplate {
        days: DAY_NAMES
            .iter()
            .zip(LABELS)
            .map(|((value, day), label)| DayOption {
                value,
                label,
                checked: cadence.days.contains(day),
            })
            .collect(),
        time: cadence.time.format("%H:%M").to_string(),
        buffer_minimum: cadence.buffer,
        hiatus: cadence.hiatus,
        hiatus_message: map.get("queue.hiatus_message").cloned().unwrap_or_default(),
        buffer,
        weeks,
        timezone: cadence.tz.name().to_owned(),
        timezones: chrono_tz::TZ_VARIANTS.iter().map(|t| t.name()).collect(),
        chrome,
    };
    view::render(&state, &req, "admin/queue.html", &ctx)
}

pub async fn save(
    state: web::Data<AppState>,
    _session: Session,
    body: String,
) -> Result<HttpResponse, AppError> {
    #[derive(Deserialize)]
    struct Form {
        time: String,
        buffer: String,
        timezone: String,
        hiatus: Option<String>,
        #[serde(default)]
        hiatus_message: String,
    }
    // Day checkboxes repeat the `days` field.
    let mut days = Vec::new();
    let mut rest = Vec::new();
    for (k, v) in url::form_urlencoded::parse(body.as_bytes()) {
        if k == "days" {
            days.push(v.into_owned());
        } else {
            rest.push((k.into_owned(), v.into_owned()));
        }
    }
    let form: Form = serde_urlencoded::from_str(
        &serde_urlencoded::to_string(&rest).map_err(|e| AppError::bad_request(e.to_string()))?,
    )
    .map_err(|e| AppError::bad_request(format!("bad form: {e}")))?;
    days.retain(|d| DAY_NAMES.iter().any(|(n, _)| n == d));
    if chrono::NaiveTime::parse_from_str(&form.time, "%H:%M").is_err() {
        return Ok(view::fail("/admin/queue", "The time must look like 09:00."));
    }
    let Ok(buffer) = form.buffer.trim().parse::<u32>() else {
        return Ok(view::fail(
            "/admin/queue",
            "The buffer must be a whole number of pages.",
        ));
    };
    if form.timezone.parse::<chrono_tz::Tz>().is_err() {
        return Ok(view::fail("/admin/queue", "Unknown time zone."));
    }
    if form.hiatus_message.chars().count() > 500 {
        return Ok(view::fail(
            "/admin/queue",
            "The hiatus notice can have at most 500 characters.",
        ));
    }
    settings::save_all(
        &state.db,
        &[
            ("queue.days", &days.join(",")),
            ("queue.time", &form.time),
            ("queue.buffer", &buffer.to_string()),
            ("site.timezone", &form.timezone),
            (
                "queue.hiatus",
                if form.hiatus.is_some() { "1" } else { "0" },
            ),
            ("queue.hiatus_message", form.hiatus_message.trim()),
        ],
    )
    .await?;
    state.content_changed().await;
    crate::queue::notify::check_soon(&state);
    Ok(view::ok("/admin/queue", "Queue settings saved."))
}
