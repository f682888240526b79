//! Amounts as people read them: lengths of time ("2 h 13 min"), working
//! days ("1 working day") and sizes ("100 MiB").

use chrono::Duration;

/// A duration to the precision a person needs: the two largest units.
pub fn duration(duration: Duration) -> String {
    let total = duration.num_seconds().unsigned_abs();
    if total == 0 && duration.num_milliseconds() != 0 {
        // Never "late by 0 s": a moment late is late.
        return "less than a second".to_string();
    }
    let (days, hours, minutes, seconds) = (
        total / 86_400,
        total / 3_600 % 24,
        total / 60 % 60,
        total % 60,
    );
    if days > 0 {
        format!("{days} d {hours} h")
    } else if hours > 0 {
        format!("{hours} h {minutes} min")
    } else if minutes > 0 {
        format!("{minutes} min {seconds} s")
    } else {
        format!("{seconds} s")
    }
}

/// "1 working day" / "3 working days".
pub fn working_days(n: u32) -> String {
    if n == 1 {
        "1 working day".to_string()
    } else {
        format!("{n} working days")
    }
}

/// A size as people read it: "512 B", "1.5 KiB", "100 MiB".
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    // A whole number reads as one: "100 MiB", not "100.0 MiB".
    if value.fract() == 0.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_largest_units() {
        assert_eq!(duration(Duration::seconds(45)), "45 s");
        assert_eq!(duration(Duration::milliseconds(1)), "less than a second");
        assert_eq!(duration(Duration::milliseconds(999)), "less than a second");
        assert_eq!(duration(Duration::milliseconds(1000)), "1 s");
        assert_eq!(duration(Duration::seconds(61)), "1 min 1 s");
        assert_eq!(duration(Duration::minutes(133)), "2 h 13 min");
        assert_eq!(duration(Duration::hours(76)), "3 d 4 h");
        assert_eq!(duration(Duration::minutes(-133)), "2 h 13 min");
    }

    #[test]
    fn sizes_are_readable() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(100 * 1024 * 1024), "100 MiB");
        assert_eq!(bytes(4_195_818), "4.0 MiB");
    }

    #[test]
    fn working_days_are_pluralised() {
        assert_eq!(working_days(1), "1 working day");
        assert_eq!(working_days(2), "2 working days");
    }
}
