//! The progress line on stderr: done/total, cache hits, ETA from the keys' quota. Drawn only
//! when stderr is a terminal, at most ten times a second.

use std::io::Write;
use std::time::{Duration, Instant};

use vtsum_core::engine::Progress;

/// A redrawn single line on stderr.
pub struct Bar {
    enabled: bool,
    last: Option<Instant>,
    drawn: bool,
}

impl Bar {
    pub fn new(enabled: bool) -> Bar {
        Bar {
            enabled,
            last: None,
            drawn: false,
        }
    }

    /// Redraws with `p`, unless the last draw was under 100 ms ago and this is not the end.
    pub fn update(&mut self, p: &Progress) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        let finished = p.done >= p.total;
        if !finished
            && self
                .last
                .is_some_and(|t| now - t < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(now);
        self.drawn = true;
        let line = render(p, 24);
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
    }

    /// Prints a message above the bar.
    pub fn message(&mut self, text: &str) {
        self.clear();
        crate::output::say(text);
    }

    /// Removes the bar from the screen.
    pub fn clear(&mut self) {
        if self.drawn {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
            self.drawn = false;
        }
    }
}

/// The bar's text, e.g. `[#######.........] 120/500  cache 40  errors 1  ETA 3m20s`.
pub fn render(p: &Progress, width: usize) -> String {
    let filled = if p.total == 0 {
        width
    } else {
        (p.done.min(p.total) as usize * width) / p.total as usize
    };
    let mut line = format!(
        "[{}{}] {}/{}  cache {}",
        "#".repeat(filled),
        ".".repeat(width - filled),
        p.done,
        p.total,
        p.cache_hits
    );
    if p.errors > 0 {
        line.push_str(&format!("  errors {}", p.errors));
    }
    if let Some(eta) = p.eta_secs.filter(|_| p.done < p.total) {
        line.push_str(&format!("  ETA {}", human_duration(eta)));
    }
    line
}

/// `3h05m`, `4m20s`, `12s`.
pub fn human_duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}h{m:02}m")
    } else if m > 0 {
        format!("{m}m{s:02}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_eta() {
        let p = Progress {
            total: 10,
            done: 5,
            cache_hits: 2,
            errors: 1,
            eta_secs: Some(125),
        };
        let line = render(&p, 10);
        assert!(line.starts_with("[#####.....] 5/10"), "{line}");
        assert!(
            line.contains("cache 2") && line.contains("errors 1"),
            "{line}"
        );
        assert!(line.ends_with("ETA 2m05s"), "{line}");
        assert_eq!(human_duration(3 * 3600 + 5 * 60), "3h05m");
    }
}
