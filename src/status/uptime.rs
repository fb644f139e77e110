//! The 90-day uptime bars: for each day, the worst status a component had, the incidents
//! that touched it, and the share of the time it was up. Computed from the component's
//! status history (every change is a row); days before the component existed have no data.
//!
//! Downtime is weighted as Statuspage does: a major outage counts in full, a partial outage
//! at 30 %, degraded performance and maintenance not at all.

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};

use super::ComponentStatus;

pub const DAYS: i64 = 90;
const PARTIAL_WEIGHT: f64 = 0.3;

#[derive(Debug, Clone, PartialEq)]
pub struct Day {
    pub date: NaiveDate,
    /// `None`: the component did not exist yet ("no data", never 100 %).
    pub worst: Option<ComponentStatus>,
    /// Weighted seconds of downtime.
    pub down_secs: f64,
    /// (id, name) of the incidents that affected the component that day.
    pub incidents: Vec<(i64, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bars {
    pub days: Vec<Day>,
    /// Over the days with data; `None` when there is none.
    pub uptime_percent: Option<f64>,
}

/// An incident as the bars need it.
pub struct Touch<'a> {
    pub id: i64,
    pub name: &'a str,
    pub from: NaiveDateTime,
    pub until: Option<NaiveDateTime>,
}

/// The bars of one component up to `now` (UTC days). `history` is its status changes,
/// oldest first; before the first, it was operational.
pub fn bars(
    start: NaiveDateTime,
    history: &[(NaiveDateTime, ComponentStatus)],
    incidents: &[Touch],
    now: NaiveDateTime,
) -> Bars {
    let today = now.date();
    let mut days = Vec::with_capacity(DAYS as usize);
    let (mut total, mut down_total) = (0.0f64, 0.0f64);
    for back in (0..DAYS).rev() {
        let date = today - TimeDelta::days(back);
        let day_start = date.and_hms_opt(0, 0, 0).unwrap_or_default();
        let lo = day_start.max(start);
        let hi = (day_start + TimeDelta::days(1)).min(now);
        if hi <= lo {
            days.push(Day {
                date,
                worst: None,
                down_secs: 0.0,
                incidents: Vec::new(),
            });
            continue;
        }
        let (worst, down) = span(history, lo, hi);
        total += (hi - lo).num_milliseconds() as f64 / 1000.0;
        down_total += down;
        let touched = incidents
            .iter()
            .filter(|i| i.from < hi && i.until.is_none_or(|u| u > lo))
            .map(|i| (i.id, i.name.to_string()))
            .collect();
        days.push(Day {
            date,
            worst: Some(worst),
            down_secs: down,
            incidents: touched,
        });
    }
    Bars {
        days,
        uptime_percent: (total > 0.0).then(|| 100.0 * (1.0 - down_total / total).max(0.0)),
    }
}

/// The worst status and weighted downtime within `[lo, hi)`.
fn span(
    history: &[(NaiveDateTime, ComponentStatus)],
    lo: NaiveDateTime,
    hi: NaiveDateTime,
) -> (ComponentStatus, f64) {
    let at_lo = history
        .iter()
        .take_while(|(t, _)| *t <= lo)
        .last()
        .map_or(ComponentStatus::Operational, |(_, s)| *s);
    let mut worst = at_lo;
    let mut down = 0.0;
    let mut from = lo;
    let mut status = at_lo;
    for (t, s) in history.iter().filter(|(t, _)| *t > lo && *t < hi) {
        down += weight(status) * (*t - from).num_milliseconds() as f64 / 1000.0;
        worst = ComponentStatus::worst(worst, *s);
        from = *t;
        status = *s;
    }
    down += weight(status) * (hi - from).num_milliseconds() as f64 / 1000.0;
    (worst, down)
}

fn weight(s: ComponentStatus) -> f64 {
    match s {
        ComponentStatus::MajorOutage => 1.0,
        ComponentStatus::PartialOutage => PARTIAL_WEIGHT,
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(d: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(d, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn days_before_the_component_have_no_data_and_outages_count_by_weight() {
        let now = at("2026-03-31 12:00");
        let start = at("2026-03-29 00:00");
        let history = [
            (at("2026-03-30 10:00"), ComponentStatus::MajorOutage),
            (at("2026-03-30 11:00"), ComponentStatus::PartialOutage),
            (at("2026-03-30 13:00"), ComponentStatus::Operational),
        ];
        let incidents = [Touch {
            id: 7,
            name: "API down",
            from: at("2026-03-30 10:00"),
            until: Some(at("2026-03-30 13:00")),
        }];
        let b = bars(start, &history, &incidents, now);
        assert_eq!(b.days.len(), 90);
        assert!(b.days[..87].iter().all(|d| d.worst.is_none()));
        let [d29, d30, d31] = [&b.days[87], &b.days[88], &b.days[89]];
        assert_eq!(d29.worst, Some(ComponentStatus::Operational));
        assert_eq!(d30.worst, Some(ComponentStatus::MajorOutage));
        assert_eq!(d30.incidents, vec![(7, "API down".to_string())]);
        assert!(d31.incidents.is_empty());
        // 1 h major + 2 h partial × 0.3 = 5,760 s down over 2.5 days.
        assert!((d30.down_secs - 5760.0).abs() < 0.01);
        let expected = 100.0 * (1.0 - 5760.0 / (2.5 * 86400.0));
        assert!((b.uptime_percent.unwrap() - expected).abs() < 1e-9);
    }

    #[test]
    fn a_status_set_before_the_window_carries_into_it_and_an_open_incident_runs_to_now() {
        let now = at("2026-03-31 06:00");
        let history = [(at("2025-01-01 00:00"), ComponentStatus::DegradedPerformance)];
        let incidents = [Touch {
            id: 1,
            name: "Slow",
            from: at("2025-01-01 00:00"),
            until: None,
        }];
        let b = bars(at("2024-01-01 00:00"), &history, &incidents, now);
        assert!(
            b.days
                .iter()
                .all(|d| d.worst == Some(ComponentStatus::DegradedPerformance))
        );
        assert!(b.days.iter().all(|d| d.incidents.len() == 1));
        assert_eq!(b.uptime_percent, Some(100.0), "degraded is not downtime");
    }

    #[test]
    fn a_component_created_today_has_only_today() {
        let now = at("2026-03-31 06:00");
        let b = bars(at("2026-03-31 05:00"), &[], &[], now);
        assert_eq!(b.days.iter().filter(|d| d.worst.is_some()).count(), 1);
        assert_eq!(b.uptime_percent, Some(100.0));
        let none = bars(now, &[], &[], now);
        assert_eq!(none.uptime_percent, None);
    }
}
