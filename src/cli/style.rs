//! Colors for terminal output (none when stdout is not a terminal).

use anstyle::{AnsiColor, Style};
use std::io::IsTerminal;

/// Paints text when enabled.
#[derive(Debug, Clone, Copy)]
pub struct Painter {
    enabled: bool,
}

impl Painter {
    /// Colors on when stdout is a terminal and `NO_COLOR` is unset.
    pub fn stdout() -> Painter {
        Painter {
            enabled: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    fn paint(&self, color: AnsiColor, bold: bool, text: &str) -> String {
        if !self.enabled {
            return text.to_string();
        }
        let mut style = Style::new().fg_color(Some(color.into()));
        if bold {
            style = style.bold();
        }
        format!("{style}{text}{style:#}")
    }

    /// Green text.
    pub fn green(&self, t: &str) -> String {
        self.paint(AnsiColor::Green, false, t)
    }
    /// Red text.
    pub fn red(&self, t: &str) -> String {
        self.paint(AnsiColor::Red, false, t)
    }
    /// Yellow text.
    pub fn yellow(&self, t: &str) -> String {
        self.paint(AnsiColor::Yellow, false, t)
    }
    /// Cyan text.
    pub fn cyan(&self, t: &str) -> String {
        self.paint(AnsiColor::Cyan, false, t)
    }
    /// Bold text.
    pub fn bold(&self, t: &str) -> String {
        self.paint(AnsiColor::White, true, t)
    }
    /// Colors a unified diff line by line.
    pub fn diff(&self, text: &str) -> String {
        text.lines()
            .map(|l| {
                if l.starts_with("+++") || l.starts_with("---") {
                    self.bold(l)
                } else if l.starts_with('+') {
                    self.green(l)
                } else if l.starts_with('-') {
                    self.red(l)
                } else if l.starts_with("@@") {
                    self.cyan(l)
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}
